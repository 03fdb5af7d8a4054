/**
 * The kernel's TCP memory, system-wide, from /proc/net/sockstat ("TCP: ... mem <pages>") against
 * the limits in /proc/sys/net/ipv4/tcp_mem (pages: low, pressure, high). Past "high" the kernel
 * drops and aborts sockets. A flood fills the server's receive queues (tcp_rmem autotunes up to
 * 32 MB per socket here) faster than the server drains them; capping the generator's SNDBUF bounds
 * only the sender's share, so senders also pause while usage is above a budget (see load-driver.ts).
 */
import { readFileSync } from "node:fs";

export interface TcpMemLimits {
  lowPages: number;
  pressurePages: number;
  highPages: number;
}

export function parseSockstatTcpPages(text: string): number {
  const m = /^TCP:.*\bmem (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

export function readTcpMemLimits(): TcpMemLimits | null {
  try {
    const [low, pressure, high] = readFileSync("/proc/sys/net/ipv4/tcp_mem", "utf8").trim().split(/\s+/).map(Number);
    if (low === undefined || pressure === undefined || high === undefined) return null;
    return { lowPages: low, pressurePages: pressure, highPages: high };
  } catch {
    return null;
  }
}

/** Pages of TCP memory in use now; null where /proc/net/sockstat is unavailable. */
export function readTcpMemPages(): number | null {
  try {
    return parseSockstatTcpPages(readFileSync("/proc/net/sockstat", "utf8"));
  } catch {
    return null;
  }
}
