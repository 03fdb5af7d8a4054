/**
 * The admin API: nothing changes without the token; stage changes and show edits reach every
 * connected viewer (over protocol v1 and v2); the public state reports live totals.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer, type Protocol } from "./harness/ws-client.ts";

let srv: RunningServer;
before(async () => {
  srv = await startServer({ TICK_MS: "50" });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

const body = { title: "Auth", acts: [{ id: "x", name: "X" }] };

test("without a valid token nothing can be changed (401), and nothing changed", async () => {
  for (const headers of [{}, { authorization: "Bearer wrong-token" }, { authorization: srv.adminToken }] as Array<Record<string, string>>) {
    for (const [method, path, b] of [
      ["PUT", "/api/shows/auth", body],
      ["POST", "/api/shows/demo/stage", { act: null, open: false }],
      ["POST", "/api/shows/demo/reset", {}],
    ] as const) {
      const res = await fetch(srv.url + path, {
        method,
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify(b),
      });
      assert.equal(res.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
      const err = (await res.json()) as { error: { code: string } };
      assert.equal(err.error.code, "unauthorized");
    }
  }
  assert.equal((await fetch(`${srv.url}/api/shows/auth`)).status, 404);
  assert.equal((await fetch(`${srv.url}/api/admin/session`, { headers: { authorization: "Bearer wrong-token" } })).status, 401);
  assert.deepEqual(await admin(srv, "GET", "/api/admin/session"), { ok: true });
  const demo = (await (await fetch(`${srv.url}/api/shows/demo`)).json()) as { stage: { act: string; open: boolean } };
  assert.deepEqual(demo.stage, { act: "act-1", open: true });
});

test("bad admin requests get 400/404 with a code", async () => {
  await assert.rejects(admin(srv, "PUT", "/api/shows/bad", { title: "", acts: [] }), /400/);
  await assert.rejects(
    admin(srv, "PUT", "/api/shows/bad", {
      title: "T",
      acts: [
        { id: "a", name: "A" },
        { id: "a", name: "B" },
      ],
    }),
    /act ids must be unique/,
  );
  await assert.rejects(admin(srv, "PUT", "/api/shows/bad%20id", body), /400/);
  await assert.rejects(admin(srv, "POST", "/api/shows/nope/stage", { act: null, open: false }), /404/);
  await assert.rejects(admin(srv, "POST", "/api/shows/demo/stage", { act: "ghost", open: true }), /unknown_act/);
});

for (const protocol of [1, 2] as const satisfies Protocol[]) {
  const live = `live-v${protocol}`;
  const shrink = `shrink-v${protocol}`;

  test(`v${protocol}: stage changes, show edits and resets reach every viewer`, async () => {
    await admin(srv, "PUT", `/api/shows/${live}`, {
      title: "Live",
      acts: [
        { id: "a", name: "A" },
        { id: "b", name: "B" },
      ],
    });
    const viewers = await Promise.all(Array.from({ length: 50 }, () => TestViewer.join(srv.wsUrl, live, undefined, { protocol })));
    assert.deepEqual(viewers[0]?.welcome?.stage, { act: null, open: false });

    await admin(srv, "POST", `/api/shows/${live}/stage`, { act: "a", open: true });
    await Promise.all(
      viewers.map((v) => v.until(() => v.frames.some((f) => f.type === "stage" && f.act === "a" && f.open), "stage a open")),
    );
    viewers[0]?.buzz("a");
    await Promise.all(viewers.map((v) => v.until(() => v.totals.a === 1, "total 1")));

    await admin(srv, "POST", `/api/shows/${live}/stage`, { act: "a", open: false });
    await Promise.all(
      viewers.map((v) => v.until(() => v.frames.some((f) => f.type === "stage" && f.act === "a" && !f.open), "voting closed")),
    );
    viewers[1]?.buzz("a");
    await viewers[1]?.until(() => viewers[1]?.lastAck?.last === "voting_closed", "voting_closed ack");

    await admin(srv, "PUT", `/api/shows/${live}`, {
      title: "Live!",
      acts: [
        { id: "a", name: "A" },
        { id: "b", name: "B" },
        { id: "c", name: "C" },
      ],
    });
    await Promise.all(
      viewers.map((v) =>
        v.until(() => v.frames.some((f) => f.type === "show" && f.show.title === "Live!" && f.show.acts.length === 3), "show edit"),
      ),
    );

    const epoch = viewers[0]?.welcome?.epoch;
    await admin(srv, "POST", `/api/shows/${live}/reset`, {});
    await Promise.all(
      viewers.map((v) =>
        v.until(() => v.frames.some((f) => f.type === "totals" && f.epoch !== epoch && f.totals.a === 0), "new epoch at zero"),
      ),
    );
    const state = (await (await fetch(`${srv.url}/api/shows/${live}`)).json()) as { epoch: string; totals: Record<string, number> };
    assert.notEqual(state.epoch, epoch);
    assert.deepEqual(state.totals, { a: 0, b: 0, c: 0 });
    for (const v of viewers) v.close();
  });

  test(`v${protocol}: an act removed from the show leaves the published totals at once; added back, it resumes its total`, async () => {
    const three = [
      { id: "a", name: "A" },
      { id: "b", name: "B" },
      { id: "c", name: "C" },
    ];
    await admin(srv, "PUT", `/api/shows/${shrink}`, { title: "Shrink", acts: three });
    await admin(srv, "POST", `/api/shows/${shrink}/stage`, { act: "c", open: true });
    const v = await TestViewer.join(srv.wsUrl, shrink, undefined, { protocol });
    await v.votingOpen("c");
    v.buzz("c");
    await v.until(() => v.totals.c === 1, "c at 1");
    await admin(srv, "PUT", `/api/shows/${shrink}`, { title: "Shrink", acts: three.slice(0, 2) });
    const edited = Date.now();
    await v.until(() => v.totalsFrames().some((f) => f.ts >= edited && !("c" in f.totals)), "a totals frame without c");
    assert.deepEqual(v.totals, { a: 0, b: 0 });
    const state = (await (await fetch(`${srv.url}/api/shows/${shrink}`)).json()) as { totals: Record<string, number> };
    assert.deepEqual(state.totals, { a: 0, b: 0 });
    await admin(srv, "PUT", `/api/shows/${shrink}`, { title: "Shrink", acts: three });
    await v.until(() => v.totals.c === 1, "c back at 1 (same epoch: never lower)");
    v.close();
  });
}

test("health, readiness, metrics and the show list answer", async () => {
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  const ready = await fetch(`${srv.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { status: string }).status, "ready");
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  for (const m of [
    "buzzcast_connections",
    "buzzcast_buzzes_received_total",
    "buzzcast_buzzes_counted_total",
    'buzzcast_buzzes_rejected_total{reason="duplicate"}',
    "buzzcast_send_dropped_total",
    "buzzcast_tick_duration_seconds_max",
    'buzzcast_connections_by_protocol{protocol="v2"}',
    'buzzcast_protocol_bytes_published_total{protocol="v2"}',
    'buzzcast_v2_decode_errors_total{reason="truncated"}',
  ]) {
    assert.match(text, new RegExp(`^${m.replace(/[{}"]/g, (c) => `\\${c}`)} \\d`, "m"), m);
  }
  const list = (await (await fetch(`${srv.url}/api/shows`)).json()) as { shows: Array<{ id: string }> };
  assert.ok(list.shows.some((s) => s.id === "demo"));
  assert.equal((await fetch(`${srv.url}/api/nothing`)).status, 404);
});
