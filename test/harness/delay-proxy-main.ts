/**
 * The link emulator for kernels without netem: a TCP proxy run ON the client's simulated host (so
 * its upstream traffic crosses the real veth/bridge path and obeys that host's routes), listening
 * on 127.0.0.1 there. Started by test/harness/link-faults.ts with one JSON argument:
 *   [{ "link": "mc", "listen": 11211, "target": "10.123.X.1:11211" }, ...]
 * Control: one JSON line per command on stdin, `{"id", "link", "delayMs", "lossPct", "rtoMs"}`;
 * it answers `{"id"}` on stdout once applied (to segments that arrive from then on).
 *
 * What each knob really does (no packet is ever dropped here: TCP would retransmit it anyway):
 * - delayMs: every chunk read from either side is delivered `delayMs` later (one-way delay per
 *   direction), order kept; a spike is just a larger delayMs.
 * - lossPct: a chunk is "lost" with that probability: it and everything behind it on that direction
 *   waits `rtoMs` more (default 200 ms, Linux's minimum retransmission timeout), which is what a
 *   lost segment costs a TCP stream.
 * Guarantees: bytes are delivered exactly once and in order per direction; when one side closes or
 * fails, the other is ended after its queued bytes are written; an upstream that cannot be reached
 * closes the accepted connection (the client sees accept-then-close rather than a refusal).
 */
import net from "node:net";
import { createInterface } from "node:readline";

interface LinkSpec {
  link: string;
  listen: number;
  target: string;
}
interface Shape {
  delayMs: number;
  lossPct: number;
  rtoMs: number;
}

const specs = JSON.parse(process.argv[2] ?? "[]") as LinkSpec[];
const shapes = new Map<string, Shape>(specs.map((s) => [s.link, { delayMs: 0, lossPct: 0, rtoMs: 200 }]));

/** One direction: chunks with due times, written in order by one timer. */
function pipe(from: net.Socket, to: net.Socket, shape: Shape): void {
  const queue: Array<{ due: number; chunk: Buffer }> = [];
  let lastDue = 0;
  let timer: NodeJS.Timeout | null = null;
  let ended = false;
  const drain = (): void => {
    timer = null;
    const now = Date.now();
    while (queue.length > 0 && (queue[0] as { due: number }).due <= now) to.write((queue.shift() as { chunk: Buffer }).chunk);
    if (queue.length > 0) timer = setTimeout(drain, (queue[0] as { due: number }).due - now);
    else if (ended) to.end();
  };
  from.on("data", (chunk: Buffer) => {
    const stall = shape.lossPct > 0 && Math.random() * 100 < shape.lossPct ? shape.rtoMs : 0;
    lastDue = Math.max(Date.now() + shape.delayMs + stall, lastDue);
    queue.push({ due: lastDue, chunk });
    if (timer === null) timer = setTimeout(drain, Math.max(0, lastDue - Date.now()));
  });
  from.on("end", () => {
    ended = true;
    if (timer === null) drain();
  });
}

let listening = 0;
for (const spec of specs) {
  const [host, port] = [spec.target.slice(0, spec.target.lastIndexOf(":")), Number(spec.target.slice(spec.target.lastIndexOf(":") + 1))];
  const shape = shapes.get(spec.link) as Shape;
  const server = net.createServer({ allowHalfOpen: true }, (down) => {
    const up = net.connect({ host, port, allowHalfOpen: true });
    down.setNoDelay(true);
    up.setNoDelay(true);
    const kill = (): void => {
      down.destroy();
      up.destroy();
    };
    up.on("error", kill);
    down.on("error", kill);
    up.on("close", () => down.end());
    down.on("close", () => up.end());
    pipe(down, up, shape);
    pipe(up, down, shape);
  });
  server.listen(spec.listen, "127.0.0.1", () => {
    if (++listening === specs.length) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  });
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line) as Partial<Shape> & { id: number; link: string };
  const shape = shapes.get(cmd.link);
  if (shape) {
    if (cmd.delayMs !== undefined) shape.delayMs = cmd.delayMs;
    if (cmd.lossPct !== undefined) shape.lossPct = cmd.lossPct;
    if (cmd.rtoMs !== undefined) shape.rtoMs = cmd.rtoMs;
  }
  process.stdout.write(`${JSON.stringify({ id: cmd.id, ok: shape !== undefined })}\n`);
});
process.stdin.on("end", () => process.exit(0));
