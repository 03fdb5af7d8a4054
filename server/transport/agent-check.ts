/**
 * The HAProxy agent check (deploy/haproxy.cfg: `agent-check agent-port <AGENT_PORT>`): a plain TCP
 * listener that answers every connection with one line, this node's weight as a percentage of the
 * configured one, and closes. It reports only a weight, never a state (up/down/drain stay the HTTP
 * check's, /readyz), so a broken agent can at worst leave a stale weight, never take a node out.
 *
 * Weight: 100% while the node admits new connections, SHEDDING_WEIGHT_PCT while admission control
 * refuses upgrades over MAX_CONNECT_RATE: HAProxy then sends new viewers to nodes with room, and
 * when every node sheds, it still spreads them over all (a node in the pool at a low weight, never
 * a pool with nobody in it).
 */
import { createServer, type Server } from "node:net";
import type { Logger } from "../ops/logger.ts";

export const SHEDDING_WEIGHT_PCT = 10;

export interface AgentCheck {
  port: number;
  /** Agent checks answered since start. */
  readonly answered: number;
  close(): Promise<void>;
}

/** Listens on host:port; `shedding()` is read at each check. Rejects when the port cannot be bound. */
export async function startAgentCheck(host: string, port: number, shedding: () => boolean, log: Logger): Promise<AgentCheck> {
  let answered = 0;
  const server: Server = createServer((socket) => {
    answered++;
    socket.on("error", (err) => log.debug("agent check connection failed", { err }));
    socket.end(`${shedding() ? SHEDDING_WEIGHT_PCT : 100}%\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log.error("agent check listener failed", { err }));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr !== null ? addr.port : port,
    get answered() {
      return answered;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
