// The worker thread's entry. Compiled (npm run build): worker.js sits beside this file and is loaded
// as plain JavaScript, with no loader and no tsx. From source (npm start, tsx): worker threads do not
// inherit tsx's loader, so register it, then load the TypeScript worker.
import { existsSync } from "node:fs";

const compiled = new URL("./worker.js", import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./worker.ts");
}
