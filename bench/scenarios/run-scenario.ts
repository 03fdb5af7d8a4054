/** Dispatches a scenario. Baselines have no admin API, so the show scenario's baseline run is a fan-out to the same audience. */
import type { RunFigures } from "../report/report-types.ts";
import type { BenchOptions } from "../run/options.ts";
import type { SystemUnderTest } from "../run/system-under-test.ts";
import { runConnections } from "./connections.ts";
import { runFanout } from "./fanout.ts";
import { runIngest } from "./ingest.ts";
import { runShow } from "./show.ts";

export function runScenario(opts: BenchOptions, sut: SystemUnderTest, label: string): Promise<RunFigures> {
  switch (opts.scenario) {
    case "ingest":
      return runIngest(opts, sut, label);
    case "fanout":
      return runFanout(opts, sut, label);
    case "connections":
      return runConnections(opts, sut, label);
    case "show":
      return sut.kind === "buzzcast" ? runShow(opts, sut, label) : runFanout({ ...opts, show: "demo", rate: 50 }, sut, label);
  }
}
