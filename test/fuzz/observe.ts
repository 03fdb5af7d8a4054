/**
 * What the fuzzer watches on the server besides its answers: /metrics counters, /healthz (polled
 * throughout: any non-200 or failed request is a crash), and the process's RSS from /proc.
 */
import { readFileSync } from "node:fs";

export type Counters = Map<string, number>;

/** Every `name{label="value"}` sample of the given families, keyed `name{label="value"}`. */
export async function scrape(url: string, families: readonly string[]): Promise<Counters> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Counters = new Map();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    const key = line.slice(0, sp);
    if (families.some((f) => key === f || key.startsWith(f + "{"))) out.set(key, Number(line.slice(sp + 1)));
  }
  return out;
}

export function delta(after: Counters, before: Counters): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) !== 0) d[k] = v - (before.get(k) ?? 0);
  return d;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Polls /healthz every `everyMs` until stopped; counts failures (status, error or > 2 s answer). */
export function healthWatch(url: string, everyMs = 250): { stop(): Promise<{ checks: number; failures: string[] }> } {
  let checks = 0;
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status !== 200) failures.push(`healthz ${res.status} at ${new Date(t0).toISOString()}`);
      } catch (err) {
        failures.push(`healthz failed at ${new Date(t0).toISOString()}: ${(err as Error).message}`);
      }
      checks++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { checks, failures };
    },
  };
}
