/**
 * The documented multi-node topology, for real: HAProxy (deploy/haproxy.cfg) in front of three
 * nodes on one memcached and one MariaDB. Viewers connect only through HAProxy. A node stopped with
 * SIGTERM mid-show hands its viewers over (1001, reconnect through HAProxy to the others) without
 * losing a buzz; the final totals equal the record and the acknowledged buzzes everywhere. A node
 * that loses memcached turns not-ready and HAProxy sends new viewers elsewhere until it recovers.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { ShowState } from "../shared/protocol.ts";
import { CLOSE } from "../shared/codes.ts";
import { admin } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { startCluster, type Cluster } from "./harness/cluster.ts";
import { startHaproxy, type RunningHaproxy, type ServerStat } from "./harness/haproxy.ts";
import { pollUntil } from "./harness/wait.ts";

/** A TCP relay to memcached for one node: cut() makes memcached unreachable for that node only. */
class TcpRelay {
  private cutOff = false;
  private readonly pairs = new Set<net.Socket>();
  private constructor(
    readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpRelay> {
    let relay: TcpRelay | null = null;
    const server = net.createServer((client) => relay?.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("relay: no port");
    relay = new TcpRelay(server, addr.port);
    return relay;
  }

  private accept(client: net.Socket, targetPort: number): void {
    // While cut, a connection is closed before a byte is forwarded: no request reaches memcached,
    // so none can be applied without its answer reaching the node.
    if (this.cutOff) return void client.destroy();
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      this.pairs.add(s);
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      s.on("close", () => {
        this.pairs.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  cut(): void {
    this.cutOff = true;
    for (const s of this.pairs) s.destroy();
  }
  restore(): void {
    this.cutOff = false;
  }
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const SHOW = "ha";
const AUDIENCE = 60;

let cluster: Cluster;
let relay: TcpRelay;
let lb: RunningHaproxy;
const everyone: TestViewer[] = [];

async function stateAt(url: string): Promise<ShowState> {
  const res = await fetch(`${url}/api/shows/${SHOW}`);
  if (!res.ok) throw new Error(`GET ${url}/api/shows/${SHOW}: ${res.status}`);
  return ShowState.parse(await res.json());
}
const server = (stats: ServerStat[], name: string): ServerStat => {
  const s = stats.find((x) => x.name === name);
  if (!s) throw new Error(`no server ${name} in ${JSON.stringify(stats)}`);
  return s;
};
async function join(viewer: string): Promise<TestViewer> {
  const v = await TestViewer.join(lb.wsUrl, SHOW, viewer);
  everyone.push(v);
  return v;
}

before(async () => {
  cluster = await startCluster(2);
  relay = await TcpRelay.start(cluster.memcached.port);
  await cluster.addNode("n3", { MEMCACHED_SERVERS: relay.address });
  lb = await startHaproxy(cluster.nodes.map((n, i) => ({ port: n.port, name: `n${i + 1}` })));
  await lb.waitForStats((s) => s.length === 3 && s.every((x) => x.status === "UP" && x.checkStatus === "L7OK"), "every node UP");
});

after(async () => {
  for (const v of everyone) v.close();
  await lb?.stop();
  await relay?.close();
  await cluster?.stop();
});

test("through HAProxy: one audience, a node SIGTERMed mid-show, final totals == record == acks", async () => {
  const lbAdmin = { url: lb.url, adminToken: cluster.nodes[0]!.adminToken };
  await admin(lbAdmin, "PUT", `/api/shows/${SHOW}`, { title: "Through HAProxy", acts: ["a", "b", "c"].map((id) => ({ id, name: id })) });
  // A producer's change made on one node reaches the others within a tick or two (the documented
  // bound); the next admin call, or viewer, may land on any of them.
  const onEveryNode = (cond: (s: ShowState) => boolean, what: string) =>
    Promise.all(cluster.nodes.map((n) => pollUntil(() => stateAt(n.url), cond, `${what} on ${n.url}`, 5000)));
  await onEveryNode(() => true, `show ${SHOW}`);
  await admin(lbAdmin, "POST", `/api/shows/${SHOW}/stage`, { act: "a", open: true });
  await onEveryNode((s) => s.stage.act === "a" && s.stage.open, "voting open on a");

  const first = await Promise.all(Array.from({ length: AUDIENCE }, (_, i) => join(`v${i}`)));
  const spread = await lb.stats();
  assert.equal(
    spread.reduce((n, s) => n + s.current, 0),
    AUDIENCE,
    "every viewer holds one proxied connection",
  );
  for (const s of spread) assert.ok(s.current >= AUDIENCE / 6, `leastconn spreads viewers: ${JSON.stringify(spread)}`);

  // Act a: everyone buzzes once; every viewer, whatever its node, sees the same exact total.
  for (const v of first) v.buzz("a");
  await Promise.all(first.map((v) => v.until(() => v.totals.a === AUDIENCE, "a = 60 on every viewer", 10_000)));

  // Act b: everyone buzzes; once every buzz is acknowledged (counted in memory, not necessarily
  // persisted yet), node n2 gets SIGTERM.
  await admin(lbAdmin, "POST", `/api/shows/${SHOW}/stage`, { act: "b", open: true });
  await Promise.all(first.map((v) => v.until(() => v.frames.some((f) => f.type === "stage" && f.act === "b" && f.open), "stage b")));
  for (const v of first) v.buzz("b");
  await Promise.all(first.map((v) => v.until(() => v.lastAck?.seq === 2, "ack of the b buzz")));
  for (const v of first) assert.equal(v.lastAck?.counted, 2);
  const onN2 = server(await lb.stats(), "n2").current;
  assert.ok(onN2 > 0, "n2 has viewers to hand over");
  const n2 = cluster.nodes[1]!;
  assert.equal(await n2.stop("SIGTERM"), 0, "n2 drains and exits 0");

  // n2's viewers were closed with 1001 (reconnect now); the others were not touched.
  const moved = await pollUntil(
    async () => first.filter((v) => v.closeCode !== null),
    (c) => c.length >= onN2,
    "n2's viewers closed",
    5000,
  );
  assert.equal(moved.length, onN2, "exactly n2's viewers were closed");
  for (const v of moved) assert.equal(v.closeCode, CLOSE.draining.code);
  // They come back through HAProxy with the same viewer ids and land on the nodes still up.
  const back = await Promise.all(moved.map((v) => join(`v${first.indexOf(v)}`)));
  const stayed = first.filter((v) => v.closeCode === null);
  const audience = [...stayed, ...back];
  assert.equal(audience.length, AUDIENCE);
  await Promise.all(
    audience.map((v) => v.until(() => v.totals.a === AUDIENCE && v.totals.b === AUDIENCE, "a = b = 60 after the handover", 10_000)),
  );

  // HAProxy took n2 out of rotation; every open connection is on n1 or n3.
  const down = await lb.waitForStats((s) => server(s, "n2").status.startsWith("DOWN"), "n2 DOWN");
  assert.equal(server(down, "n2").current, 0);
  assert.equal(server(down, "n1").current + server(down, "n3").current, AUDIENCE);

  // Act c (the second act after the handover), then the producer closes voting.
  await admin(lbAdmin, "POST", `/api/shows/${SHOW}/stage`, { act: "c", open: true });
  await Promise.all(audience.map((v) => v.until(() => v.frames.some((f) => f.type === "stage" && f.act === "c" && f.open), "stage c")));
  for (const v of audience) v.buzz("c");
  await Promise.all(audience.map((v) => v.until(() => v.totals.c === AUDIENCE, "c = 60", 10_000)));
  await admin(lbAdmin, "POST", `/api/shows/${SHOW}/stage`, { act: "c", open: false });

  // Acknowledged as counted: the last ack of every connection, old and new, summed.
  for (const v of stayed) await v.until(() => v.lastAck?.seq === 3, "ack of the c buzz");
  for (const v of back) await v.until(() => v.lastAck?.seq === 1, "ack of the c buzz after reconnecting");
  const acked = [...first, ...back].reduce((n, v) => n + (v.lastAck?.counted ?? 0), 0);
  assert.equal(acked, 3 * AUDIENCE, "every buzz acknowledged as counted");
  const expected = { a: AUDIENCE, b: AUDIENCE, c: AUDIENCE };

  for (const url of [lb.url, cluster.nodes[0]!.url, cluster.nodes[2]!.url]) {
    const s = await pollUntil(
      () => stateAt(url),
      (s) => s.durable?.c === AUDIENCE && !s.stage.open,
      `the close and the durable totals at ${url}`,
    );
    assert.deepEqual(s.totals, expected, `live totals at ${url}`);
    assert.deepEqual(s.durable, expected, `the record, read at ${url}`);
    assert.deepEqual(s.stage, { act: "c", open: false });
  }
  for (const v of audience) assert.deepEqual(v.totals, expected, "every viewer's last totals");

  // n2 persisted everything it counted (a and b of its viewers) before it exited.
  const db = new URL(cluster.mysqlUrl).pathname.slice(1);
  const rows = await cluster.mariadb.query<Array<{ node: string; n: string | number }>>(
    `SELECT node, SUM(count) AS n FROM \`${db}\`.counts WHERE show_id = ? GROUP BY node ORDER BY node`,
    [SHOW],
  );
  const byNode = Object.fromEntries(rows.map((r) => [r.node, Number(r.n)]));
  assert.equal(byNode.n2, 2 * onN2, "n2's rows hold its a and b buzzes");
  assert.equal(
    Object.values(byNode).reduce((a, b) => a + b, 0),
    3 * AUDIENCE,
  );
});

test("a node that loses memcached turns not-ready: HAProxy sends new viewers elsewhere until it recovers", async () => {
  const n3 = cluster.nodes[2]!;
  const onN3 = server(await lb.stats(), "n3").current;
  assert.ok(onN3 > 0, "n3 has viewers");
  relay.cut();
  await pollUntil(
    () => fetch(`${n3.url}/readyz`).then((r) => r.status),
    (st) => st === 503,
    "n3 /readyz 503",
    10_000,
  );
  const down = await lb.waitForStats(
    (s) => server(s, "n3").status.startsWith("DOWN") && server(s, "n3").checkStatus === "L7STS",
    "n3 DOWN on its 503",
  );
  // Its viewers keep their sockets (the node still counts for them); new viewers go to n1 only.
  assert.equal(server(down, "n3").current, onN3, "n3's viewers are not cut");
  const n1Before = server(down, "n1").current;
  const late = await Promise.all(Array.from({ length: 10 }, (_, i) => join(`late${i}`)));
  const during = await lb.stats();
  assert.equal(server(during, "n3").total, server(down, "n3").total, "no new connection was sent to n3");
  assert.equal(server(during, "n1").current, n1Before + late.length);
  for (const v of late) assert.equal(v.closeCode, null);

  relay.restore();
  await pollUntil(
    () => fetch(`${n3.url}/readyz`).then((r) => r.status),
    (st) => st === 200,
    "n3 /readyz 200 again",
    10_000,
  );
  await lb.waitForStats((s) => server(s, "n3").status === "UP", "n3 UP again");
  const s = await stateAt(n3.url);
  assert.deepEqual(s.totals, { a: AUDIENCE, b: AUDIENCE, c: AUDIENCE }, "n3 serves the same totals after the outage");
});
