/**
 * The configuration of admission control and of the paced drain for one uWS App. A node with
 * WORKERS=N runs N Apps on one port and the kernel spreads connections evenly over them, so each
 * App takes 1/N of the node's MAX_CONNECT_RATE and MAX_CONNECT_RATE_PER_IP (rounded up), and 1/N
 * of the WebSockets the process's descriptor limit leaves room for (descriptor-limit.ts).
 */
import type { Config } from "../config.ts";
import type { AdmissionOptions } from "./admission.ts";
import { descriptorBudget, readNofileLimit } from "./descriptor-limit.ts";

export interface WsPolicy {
  admission?: AdmissionOptions;
  drainReconnectRatePerSec: number;
}

/** `nofileLimit`: the process's RLIMIT_NOFILE (soft), null = unknown (no descriptor cap). */
export function wsPolicy(
  cfg: Pick<Config, "WORKERS" | "MAX_CONNECT_RATE" | "MAX_CONNECT_RATE_PER_IP" | "TRUSTED_PROXIES" | "ALLOWED_ORIGINS">,
  nofileLimit: number | null = readNofileLimit(),
): WsPolicy {
  const share = (v: number) => (v > 0 ? Math.max(1, Math.ceil(v / cfg.WORKERS)) : 0);
  const maxOpen = descriptorBudget(nofileLimit, cfg.WORKERS).perWorker;
  const any = cfg.MAX_CONNECT_RATE > 0 || cfg.MAX_CONNECT_RATE_PER_IP > 0 || cfg.ALLOWED_ORIGINS !== undefined || Number.isFinite(maxOpen);
  const admission: AdmissionOptions = {
    ratePerSec: share(cfg.MAX_CONNECT_RATE),
    ratePerIpPerSec: share(cfg.MAX_CONNECT_RATE_PER_IP),
    trustedProxies: cfg.TRUSTED_PROXIES ?? [],
    allowedOrigins: cfg.ALLOWED_ORIGINS,
    maxOpen,
  };
  // The drained audience goes to the other nodes: its return is sized for what one node admits.
  // MAX_CONNECT_RATE=0: not sized (returns within drain-pacer's MIN_WINDOW_MS, the old 0-1 s jitter).
  const drainReconnectRatePerSec = share(cfg.MAX_CONNECT_RATE);
  return any ? { admission, drainReconnectRatePerSec } : { drainReconnectRatePerSec };
}
