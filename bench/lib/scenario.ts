// What a scenario is and what it gets from the runner.

import type { Scope } from './cleanup.js';
import type { Metric, ScenarioResult } from './result.js';

export interface BenchOptions {
  readonly quick: boolean;
  /** Measured runs per scenario (backlog always runs once: it is long by design). */
  readonly runs: number;
  /** Length of one timed run (raw, ingest, latency). */
  readonly durationMs: number;
  /** Traffic before each timed run that is not counted. */
  readonly warmupMs: number;
  /** Events delivered per run in the delivery-rate scenarios (basic, oauth, postgres). */
  readonly deliveries: number;
  readonly backlogSize: number;
  /** Events published per timed run in the sustained scenarios (sustained, diy, sustained-pg). */
  readonly events: number;
  /** Events/s the latency scenario publishes (its target is set at 2,000). */
  readonly latencyRate: number;
  /** Run the baseline a scenario's ratio needs, even when only that scenario was asked for. */
  readonly baselines: boolean;
}

export interface ScenarioContext {
  readonly options: BenchOptions;
  /** Everything the scenario starts goes here; the runner closes it, even on failure. */
  readonly scope: Scope;
  /** Scenarios finished earlier in this run, by name: the baselines. */
  readonly results: ReadonlyMap<string, ScenarioResult>;
  log(line: string): void;
}

export interface ScenarioOutcome {
  readonly method: string;
  readonly metrics: readonly Metric[];
  readonly details: Record<string, unknown>;
  /** Set instead of metrics when the scenario cannot run here. */
  readonly skipped?: string;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Scenario whose figure this one's ratio is computed against. */
  readonly baseline?: string;
  /** Hard limit for the whole scenario, after which it is stopped and reported failed. */
  timeoutMs(options: BenchOptions): number;
  run(context: ScenarioContext): Promise<ScenarioOutcome>;
}

/** The baseline's named metric from this run, for ratios; undefined when it was not measured. */
export function baselineMetric(
  context: ScenarioContext,
  scenario: string,
  name: string,
): (Metric & { scenario: string }) | undefined {
  const result = context.results.get(scenario);
  if (result?.status !== 'ok') return undefined;
  const found = result.metrics.find((m) => m.name === name);
  return found ? { ...found, scenario } : undefined;
}

/** Wait budget for `count` deliveries: generous, so only a stall times out. */
export function deliveryTimeoutMs(count: number): number {
  return 120_000 + count * 2;
}
