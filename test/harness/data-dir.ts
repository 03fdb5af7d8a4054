/**
 * A temporary DATA_DIR for servers a test starts (their write-ahead journals). Removed by
 * `remove()`, and in any case when the test process exits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made = new Set<string>();
process.on("exit", () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function freshDataDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "buzzcast-data-"));
  made.add(path);
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      made.delete(path);
    },
  };
}
