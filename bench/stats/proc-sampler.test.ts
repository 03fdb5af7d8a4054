import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { parseSockstatTcpPages } from "./kernel-tcp-memory.ts";
import { CLK_TCK, cpuPct, parseStatCpuSec, parseStatusRssBytes, sampleProcessTree } from "./proc-sampler.ts";

test("parses utime+stime even when the command name has spaces and parentheses", () => {
  const fields = ["S", "1", "1", "1", "0", "-1", "4194560", "0", "0", "0", "0", "250", "50", "0", "0"];
  const stat = `1234 (node (x) y) ${fields.join(" ")}`;
  assert.equal(parseStatCpuSec(stat), 300 / CLK_TCK);
  assert.equal(parseStatusRssBytes("Name:\tnode\nVmRSS:\t   2048 kB\nVmSwap:\t0 kB\n"), 2048 * 1024);
  assert.equal(parseStatusRssBytes("Name:\tzombie\n"), 0);
  assert.equal(parseSockstatTcpPages("sockets: used 13\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem 37\nUDP: inuse 0 mem 5\n"), 37);
});

test("samples a real process tree: a shell and its busy child", async () => {
  // sh (idle) -> node (busy for ~300 ms of CPU): the sum must include the child.
  const proc = spawn("sh", ["-c", `${process.execPath} -e "const e=Date.now()+400;while(Date.now()<e);" ; sleep 5`], { stdio: "ignore" });
  await once(proc, "spawn");
  const a = sampleProcessTree(proc.pid!);
  assert.ok(a !== null);
  await new Promise((r) => setTimeout(r, 300));
  const b = sampleProcessTree(proc.pid!);
  assert.ok(b !== null);
  assert.ok(b.pids >= 2, `tree has ${b.pids} processes`);
  assert.ok(b.rssBytes > a.rssBytes / 2 && b.rssBytes > 0);
  assert.ok(cpuPct(a, b) > 0, "the busy child's CPU is counted");
  proc.kill("SIGKILL");
  await once(proc, "exit");
  assert.equal(sampleProcessTree(999_999_999), null);
});
