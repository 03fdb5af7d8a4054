#!/usr/bin/env bash
# Runs bench/tsung/buzz.xml against a buzzcast server it starts on a free loopback port, bounded in
# time, and prints what the server counted and how fast (from the server's own totals, before and
# after). Usage: bench/tsung/run.sh [USERS] [BUZZES_PER_USER] [ARRIVAL_RATE_PER_SEC] [MAX_SECONDS]
# Defaults: 1000 users, 2000 buzzes each, 200 users/s, 60 s. Needs the Debian package tsung.
# Everything it starts is stopped on exit; logs stay in the printed work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
USERS=${1:-1000}
BUZZES=${2:-2000}
RATE=${3:-200}
MAX_SECONDS=${4:-60}
ARRIVAL=$(( (USERS + RATE - 1) / RATE ))
work=$(mktemp -d -t tsung-buzz-XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

PORT=0 HOST=127.0.0.1 BUZZ_POLICY=unlimited RATE_LIMIT_PER_SEC=0 ADMIN_TOKEN=tsung-run-admin LOG_LEVEL=info \
  node --import tsx server/main.ts >"$work/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(grep -o '"msg":"listening".*"port":[0-9]*' "$work/server.log" 2>/dev/null | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "server did not report its port; see $work/server.log" >&2
  exit 1
fi

total() {
  node -e 'fetch(process.argv[1]).then(r=>r.json()).then(s=>console.log(Object.values(s.totals).reduce((a,b)=>a+b,0)))' \
    "http://127.0.0.1:$port/api/shows/demo"
}

sed -e "s/@PORT@/$port/g" -e "s/@USERS@/$USERS/g" -e "s/@BUZZES@/$BUZZES/g" -e "s/@RATE@/$RATE/g" \
  -e "s/@ARRIVAL@/$ARRIVAL/g" -e "s/@MAXSECONDS@/$MAX_SECONDS/g" bench/tsung/buzz.xml >"$work/buzz.xml"

before=$(total)
# bash's `time` reports the wall time and the CPU (user, system) of tsung and its Erlang VM.
TIMEFORMAT='%R %U %S'
{ time timeout --signal=KILL $((MAX_SECONDS + 30)) tsung -f "$work/buzz.xml" -l "$work/log" start >"$work/tsung.out" 2>&1 || true; } 2>"$work/time.txt"
after=$(total)
users=$(awk '/^stats: users_count/ { n = $NF } END { print n + 0 }' "$work"/log/*/tsung.log 2>/dev/null || echo "?")
read -r wall user sys <"$work/time.txt"
awk -v c="$((after - before))" -v wall="$wall" -v cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" -v u="$users" -v b="$BUZZES" -v w="$work" \
  'BEGIN { printf "tsung: %s users started x %d buzzes; server counted %d in %.1f s wall (incl. tsung start-up): %.0f buzzes/s; tsung CPU %.1f s = %.0f buzzes per tsung CPU-second (work dir %s)\n", u, b, c, wall, c / wall, cpu, c / cpu, w }'
