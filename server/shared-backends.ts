/**
 * Backends for a shared deployment (memcached + MySQL). Filled in by the data-path work; until then
 * asking for them fails loudly instead of silently running on in-process stores.
 */
import type { Config } from "./config.ts";
import type { Backends } from "./node.ts";
import type { Logger } from "./ops/logger.ts";

export async function createSharedBackends(_cfg: Config, _log: Logger): Promise<Backends> {
  throw new Error("MEMCACHED_SERVERS / MYSQL_URL are not supported by this build yet");
}
