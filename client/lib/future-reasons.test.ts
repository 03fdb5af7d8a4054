/**
 * A server newer than this client refuses buzzes for a reason the client does not know (v2: reason
 * index 9, past V2_REJECT_ORDER; v1: `rejected: {"new_reason": n}`, `last: "new_reason"`). The
 * client must settle such a buzz as "rejected_other", keep its cumulative-ack bookkeeping exact for
 * the acks that follow, emit no error and keep its one connection: an unknown reason is never a
 * protocol error.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { WebSocket } from "ws";
import { V2_REJECT_ORDER } from "../../shared/v2/constants.ts";
import { writeVarint } from "../../shared/v2/varint.ts";
import { BuzzClient, type BuzzClientError, type BuzzOutcome } from "./index.ts";
import { fakeServer, type FakeConn, type FakeServer } from "./fake-server.ts";
import { nextEvent } from "./testing.ts";

const FUTURE_INDEX = 9; // a reason appended by a newer server; this client knows indices 0..4
const servers: FakeServer[] = [];
const clients: BuzzClient[] = [];
after(async () => {
  clients.forEach((c) => c.close());
  await Promise.all(servers.map((s) => s.close()));
});

/** The v2 ack bytes a newer server sends: its own reason order is longer than this client's. */
function futureV2Ack(seq: number, counted: number, counts: number[], lastCode: number): Uint8Array {
  const bytes = new Uint8Array(8 * (counts.length + 5));
  let pos = writeVarint(bytes, 0, 0x15);
  for (const v of [seq, counted, counts.length, ...counts, lastCode]) pos = writeVarint(bytes, pos, v);
  return bytes.slice(0, pos);
}

/**
 * Per buzz the server's verdict, in order: counted, the future reason, counted, then (buzzes 4 and 5
 * answered by one merged ack) the future reason and duplicate.
 */
function script(protocol: "v1" | "v2"): (c: FakeConn, seq: number) => void {
  let counted = 0;
  let future = 0;
  let duplicate = 0;
  const send = (c: FakeConn, seq: number, last: "counted" | "future" | "duplicate") => {
    if (protocol === "v2") {
      const counts = new Array<number>(FUTURE_INDEX + 1).fill(0);
      counts[V2_REJECT_ORDER.indexOf("duplicate")] = duplicate;
      counts[FUTURE_INDEX] = future;
      const lastCode = last === "counted" ? 0 : last === "future" ? FUTURE_INDEX + 1 : V2_REJECT_ORDER.indexOf("duplicate") + 1;
      c.ws.send(futureV2Ack(seq, counted, counts, lastCode));
    } else {
      const rejected: Record<string, number> = {};
      if (future > 0) rejected["new_reason"] = future;
      if (duplicate > 0) rejected["duplicate"] = duplicate;
      c.send({ type: "ack", seq, counted, rejected, last: last === "future" ? "new_reason" : last });
    }
  };
  return (c, seq) => {
    if (seq === 1 || seq === 3) counted++;
    if (seq === 2 || seq === 4) future++;
    if (seq === 5) duplicate++;
    if (seq === 1 || seq === 3) send(c, seq, "counted");
    if (seq === 2) send(c, seq, "future");
    if (seq === 5) send(c, seq, "duplicate"); // covers buzz 4 too
  };
}

for (const protocol of ["v1", "v2"] as const) {
  test(`${protocol}: a reject reason from a newer server settles as rejected_other; counts stay exact, no error, no reconnect`, async () => {
    const verdict = script(protocol);
    const f = await fakeServer({
      v2: protocol === "v2",
      script: (c, { msg }) => {
        if (msg.type === "buzz") verdict(c, msg.seq);
      },
    });
    servers.push(f);
    const c = new BuzzClient({ url: f.url, show: "s", viewer: "v", WebSocket, protocol, reconnect: false });
    clients.push(c);
    const errors: BuzzClientError[] = [];
    c.on("error", (e) => errors.push(e));
    const welcome = nextEvent(c, "welcome");
    c.connect();
    await welcome;
    const outcomes: BuzzOutcome[] = [];
    outcomes.push(await c.buzz("b"));
    outcomes.push(await c.buzz("b"));
    outcomes.push(await c.buzz("b"));
    outcomes.push(...(await Promise.all([c.buzz("b"), c.buzz("b")])));
    assert.deepEqual(outcomes, ["counted", "rejected_other", "counted", "rejected_other", "duplicate"]);
    assert.deepEqual(errors, [], "an unknown reason is neither an error nor an ack mismatch");
    assert.equal(c.state, "live");
    assert.equal(c.protocol, protocol);
    assert.equal(f.offers.length, 1, "one connection: never closed or reconnected");
  });
}
