/** Node arguments that run a TypeScript entry point in-process (no wrapper process, so its pid is the real one). */
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function tsxExecArgv(): string[] {
  return ["--import", import.meta.resolve("tsx")];
}
