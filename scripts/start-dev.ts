/**
 * `npm start`: the server from source (tsx). Builds the pages first when STATIC_DIR has none (a
 * fresh checkout), then runs server/main.ts. The compiled production start (`npm run start:prod`)
 * never builds anything: it serves the pages `npm run build` made, so esbuild stays a dev tool.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildClient } from "../client/build.ts";
import { createLogger } from "../server/ops/logger.ts";

const dir = process.env["STATIC_DIR"] || "client/dist";
if (!existsSync(join(dir, "index.html"))) {
  createLogger("info").info("building pages", { outDir: dir });
  await buildClient(dir, { keepExisting: true });
}
await import("../server/main.ts");
