/**
 * Metric families of the tick loop: the effective period and overload state, and the audience per
 * show. Read at scrape time (nothing per tick or per connection). In a multi-worker node the
 * supervisor merges the workers' families: the fleet-wide audience and the period take the max
 * (every worker knows the same sums; the slowest worker's period), the local audience sums.
 */
import type { TickLoop } from "../counting/tick-loop.ts";
import type { Family } from "../ops/metrics.ts";

export function tickFamilies(loop: TickLoop): Family[] {
  const { local, fleet } = loop.watching();
  const rate = loop.rate;
  return [
    {
      name: "buzzcast_tick_period_seconds",
      help: "Effective publishing period: TICK_MS, or the mean gap between recent publishes while the overload control skips ticks.",
      kind: "gauge",
      merge: "max",
      samples: [{ value: rate.publishPeriodMs / 1000 }],
    },
    {
      name: "buzzcast_tick_work_ratio",
      help: "Tick work (acks, flush, publish, fan-out) over the last publish-to-publish period, as a share of its wall time.",
      kind: "gauge",
      merge: "max",
      samples: [{ value: rate.lastRatio }],
    },
    {
      name: "buzzcast_tick_work_allowance",
      help: "Share of the thread the tick's work could take in the last period: what other work left under TICK_IDLE_PCT, at least TICK_BUDGET_PCT.",
      kind: "gauge",
      merge: "max",
      samples: [{ value: rate.lastAllowance }],
    },
    {
      name: "buzzcast_fanout_seconds_per_delivery",
      help: "Cost of one delivery after a publish as the overload control counts it (thread CPU, moving average of clean samples).",
      kind: "gauge",
      merge: "max",
      samples: [{ value: loop.fanout.perDeliveryMs / 1000 }],
    },
    {
      name: "buzzcast_tick_rate_changes_total",
      help: "Times publishing went from every tick to paced (overload) or back to every tick (recovery).",
      kind: "counter",
      samples: [{ value: rate.changes }],
    },
    {
      name: "buzzcast_tick_phase2_starts_total",
      help: "Phase 2 (read totals, publish) starts: once every unit's flush landed (quorum), or at PUBLISH_OFFSET_MS (offset).",
      kind: "counter",
      samples: [
        { labels: { start: "quorum" }, value: loop.phase2Starts.quorum },
        { labels: { start: "offset" }, value: loop.phase2Starts.offset },
      ],
    },
    {
      name: "buzzcast_show_watching",
      help: "Viewers of the show (connections that said hello to it), fleet-wide, as last summed.",
      kind: "gauge",
      merge: "max",
      samples: [...fleet].map(([show, n]) => ({ labels: { show }, value: n })),
    },
    {
      name: "buzzcast_show_watching_local",
      help: "Viewers of the show on this node.",
      kind: "gauge",
      samples: [...local].map(([show, n]) => ({ labels: { show }, value: n })),
    },
  ];
}
