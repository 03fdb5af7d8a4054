/**
 * The pages build, and no browser bundle pulls in zod or shared/protocol.ts (whose module body
 * builds every schema, ~93 KB gzipped): the client takes its constants from shared/codes.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildClient, bundleSizes } from "./build.ts";

test("browser bundles take protocol constants from shared/codes.ts and never include zod", async () => {
  const dir = await mkdtemp(join(tmpdir(), "buzzcast-build-"));
  try {
    const inputs = await buildClient(dir);
    assert.deepEqual(Object.keys(inputs).sort(), ["buzzer", "console", "overlay"]);
    for (const [page, files] of Object.entries(inputs)) {
      assert.ok(files.includes("shared/codes.ts"), `${page} uses the shared constants`);
      assert.deepEqual(
        files.filter((f) => f.includes("node_modules/zod") || f === "shared/protocol.ts"),
        [],
        `${page} bundles no schema code`,
      );
      assert.ok(!files.some((f) => f.startsWith("client/lib/protocol-constants")), "no client copy of the constants");
    }
    assert.ok(inputs["buzzer"]?.includes("shared/v2/decode.ts"), "the buzzer page speaks protocol v2 through the shared codec");
    assert.ok(inputs["overlay"]?.includes("shared/v2/decode.ts"), "the overlay speaks protocol v2 through the shared codec");
    const buzzer = (await bundleSizes(dir)).find((s) => s.file === "buzzer.js");
    assert.ok(buzzer && buzzer.gzipBytes < 20_000, `buzzer.js stays small (${buzzer?.gzipBytes} B gzipped)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
