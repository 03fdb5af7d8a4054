/**
 * Protocol constants for code that must not pull zod into a browser bundle: importing any value from
 * shared/protocol.ts runs its module body (every zod schema, ~93 KB gzipped). These are typed as
 * `typeof` the shared constants, so `tsc` fails the moment the shared values change; a unit test
 * checks them at run time as well.
 */
import type { PROTOCOL_VERSION as SharedVersion, WS_PATH as SharedPath } from "../../shared/protocol.ts";

export const PROTOCOL_VERSION: typeof SharedVersion = 1;
export const WS_PATH: typeof SharedPath = "/ws";
