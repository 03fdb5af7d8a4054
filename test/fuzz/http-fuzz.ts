/**
 * The HTTP half of the fuzzer, on raw sockets: the admin API and the static files with malformed
 * JSON, huge and missing headers, wrong methods and path tricks (each must get a 4xx, never a 5xx,
 * never a file outside the pages; under /api/ a JSON error `{"error":{"code","message"}}`), then
 * slowloris (requests sent a byte at a time) and many half-open connections, while /healthz must
 * keep answering fast.
 */
import { connect, type Socket } from "node:net";

export interface HttpFuzzResult {
  requests: number;
  byStatus: Record<string, number>;
  slowloris: number;
  halfOpen: number;
  /** Slowest /healthz answer while the slow and half-open connections were held (ms). */
  healthMaxMsUnderSlowloris: number;
  mismatches: string[];
}

interface Req {
  raw: string | Buffer;
  /** Acceptable statuses (0: the server may close without answering). */
  ok: number[];
  api: boolean;
}

export async function fuzzHttp(opts: {
  port: number;
  host: string;
  adminToken: string;
  slowloris: number;
  halfOpen: number;
  holdMs: number;
}): Promise<HttpFuzzResult> {
  const r: HttpFuzzResult = { requests: 0, byStatus: {}, slowloris: 0, halfOpen: 0, healthMaxMsUnderSlowloris: 0, mismatches: [] };
  const auth = `Authorization: Bearer ${opts.adminToken}\r\n`;
  const put = (path: string, body: string | Buffer, extra = "") =>
    Buffer.concat([
      Buffer.from(
        `PUT ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      ),
      Buffer.from(body),
    ]);
  const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
  const reqs: Req[] = [
    ...[
      "{",
      "[]",
      "null",
      '{"title":1}',
      '{"title":"t","acts":[]}',
      '{"title":"t","acts":[{"id":"a","name":"A"},{"id":"a","name":"B"}]}',
      "\u0000",
      "\uFEFF{}",
      '{"title":"t","acts":[{"id":"../x","name":"A"}]}',
    ].map((b) => ({ raw: put("/api/shows/fz-http", b), ok: [400], api: true })),
    { raw: put("/api/shows/fz-http", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), ok: [400], api: true },
    { raw: put("/api/shows/fz-http", "x".repeat(70_000)), ok: [413, 0], api: true },
    { raw: put("/api/shows/..%2F..%2Fetc", "{}"), ok: [400, 404], api: true },
    { raw: `POST /api/shows/fz-http/stage HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 5\r\n\r\n{"a":`, ok: [400, 404], api: true },
    {
      raw: `POST /api/shows/fuzz/stage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-token\r\nContent-Length: 2\r\n\r\n{}`,
      ok: [401],
      api: true,
    },
    {
      raw: `POST /api/shows/fuzz/stage HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${"A".repeat(5000)}\r\nContent-Length: 2\r\n\r\n{}`,
      ok: [401],
      api: true,
    },
    ...["DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"].map((m) => ({
      raw: `${m} /api/shows/fuzz HTTP/1.1\r\nHost: x\r\n${auth}\r\n`,
      ok: [404, 405, 400, 0],
      api: true,
    })),
    ...[
      "/../../../../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/..%2f..%2f..%2fetc%2fpasswd",
      "/index.html%00.js",
      "/%00",
      "//etc/passwd",
      "/console/../../../etc/passwd",
      "/.%2e/.%2e/etc/passwd",
      "/\\..\\..\\etc\\passwd",
      "/api/../../etc/passwd",
      "/api/shows/%2e%2e",
      "/api/shows/fuzz%00",
      "/api/shows/" + "a".repeat(5000),
    ].map((p) => ({
      raw: get(p),
      ok: [400, 404, 0],
      api: p.startsWith("/api/shows"),
    })),
    { raw: get("/healthz", `X-Big: ${"b".repeat(200_000)}\r\n`), ok: [431, 400, 0, 200], api: false },
    { raw: get("/healthz", Array.from({ length: 2000 }, (_, i) => `X-H${i}: v\r\n`).join("")), ok: [431, 400, 0, 200], api: false },
    { raw: "GET /healthz HTTP/1.1\r\n\r\n", ok: [200, 400, 0], api: false },
    { raw: "GET /healthz HTTP/1.0\r\n\r\n", ok: [200, 400, 0], api: false },
    { raw: "GARBAGE\r\n\r\n", ok: [400, 0], api: false },
    { raw: Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00]), ok: [400, 0], api: false }, // a TLS ClientHello
    {
      raw: `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ok: [400, 404, 426, 0],
      api: false,
    },
  ];
  const answers = await Promise.all(reqs.map((q) => exchange(opts, q.raw)));
  for (const [i, q] of reqs.entries()) {
    const res = answers[i]!;
    r.requests++;
    r.byStatus[res.status] = (r.byStatus[res.status] ?? 0) + 1;
    const label = (typeof q.raw === "string" ? q.raw : q.raw.toString("latin1")).slice(0, 60).replace(/\r\n/g, " ");
    if (!q.ok.includes(res.status)) r.mismatches.push(`${label}: status ${res.status}, expected ${q.ok.join("|")}`);
    if (/root:.*:0:0:/.test(res.body)) r.mismatches.push(`${label}: served a file outside the pages`);
    if (q.api && res.status >= 400 && !isJsonError(res.body))
      r.mismatches.push(`${label}: error body is not {"error":{"code","message"}}: ${res.body.slice(0, 100)}`);
  }
  await holdSlowAndHalfOpen(opts, r);
  return r;
}

function isJsonError(body: string): boolean {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    return typeof e?.code === "string" && typeof e.message === "string";
  } catch {
    return false;
  }
}

/** One request on its own connection; status 0 when the server closed without an answer. */
function exchange(opts: { port: number; host: string }, raw: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const s = connect({ port: opts.port, host: opts.host });
    let buf = Buffer.alloc(0);
    const done = () => {
      s.destroy();
      const text = buf.toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const i = text.indexOf("\r\n\r\n");
      resolve({ status: m ? Number(m[1]) : 0, body: i < 0 ? "" : buf.subarray(i + 4).toString("utf8") });
    };
    const timer = setTimeout(done, 3_000);
    s.on("connect", () => s.write(raw));
    s.on("data", (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      const text = buf.toString("latin1");
      const i = text.indexOf("\r\n\r\n");
      const len = /content-length: (\d+)/i.exec(text.slice(0, Math.max(0, i)));
      if (i >= 0 && len && buf.length >= i + 4 + Number(len[1])) {
        clearTimeout(timer);
        done();
      }
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      done();
    });
  });
}

/** Slowloris and half-open connections held for `holdMs` while /healthz is timed. */
async function holdSlowAndHalfOpen(
  opts: { port: number; host: string; slowloris: number; halfOpen: number; holdMs: number },
  r: HttpFuzzResult,
): Promise<void> {
  const socks: Socket[] = [];
  const open = () => {
    const s = connect({ port: opts.port, host: opts.host });
    s.on("error", () => {});
    socks.push(s);
    return s;
  };
  for (let i = 0; i < opts.halfOpen; i++) {
    const s = open();
    if (i % 2 === 0) s.on("connect", () => s.write("GET /api/shows HTT")); // a request line never finished
    r.halfOpen++;
  }
  const slow: Socket[] = Array.from({ length: opts.slowloris }, () => open());
  r.slowloris = slow.length;
  const line = Buffer.from("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghijklmnopqrstuvwxyz");
  let at = 0;
  const drip = setInterval(() => {
    for (const s of slow) if (!s.destroyed && at < line.length) s.write(line.subarray(at, at + 1));
    at++;
  }, 200);
  const until = Date.now() + opts.holdMs;
  while (Date.now() < until) {
    const t0 = performance.now();
    const res = await fetch(`http://${opts.host}:${opts.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    r.healthMaxMsUnderSlowloris = Math.max(r.healthMaxMsUnderSlowloris, Math.round(performance.now() - t0));
    if (res.status !== 200) r.mismatches.push(`healthz ${res.status} under slowloris`);
    await new Promise((res) => setTimeout(res, 100));
  }
  clearInterval(drip);
  for (const s of socks) s.destroy();
}
