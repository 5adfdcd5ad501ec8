// The shape of what scenarios report, as written to bench/results/*.json.

import { median, summarise, type Summary } from './stats.js';

export interface Target {
  /** The figure compared: the metric's median itself, or its ratio to the baseline. */
  readonly of: 'value' | 'ratio';
  readonly op: '>=' | '<=' | '==';
  readonly value: number;
}

export interface Metric extends Summary {
  readonly name: string;
  readonly unit: string;
  /**
   * Against the baseline measured in the same run: with paired baseline runs (one right before
   * each of this metric's runs), the median of the per-run ratios; otherwise this median divided
   * by the baseline scenario's.
   */
  readonly ratio?: { readonly to: string; readonly value: number };
  readonly target?: Target;
  /** Whether the target is met; absent without a target. */
  readonly met?: boolean;
}

export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or how it failed. */
  readonly reason?: string;
  /** One paragraph: how the figures were measured. */
  readonly method: string;
  readonly metrics: readonly Metric[];
  /** Per-run figures that explain the metrics (connections opened, token requests, ...). */
  readonly details: Record<string, unknown>;
  readonly seconds: number;
}

function meets(value: number, target: Target): boolean {
  if (target.op === '>=') return value >= target.value;
  if (target.op === '<=') return value <= target.value;
  return value === target.value;
}

/** The baseline's figure measured right before each run of a metric, in the same order. */
export interface PairedBaseline {
  readonly scenario: string;
  readonly name: string;
  readonly runs: readonly number[];
}

export function metric(
  name: string,
  unit: string,
  runs: readonly number[],
  options: {
    baseline?: Metric & { scenario: string };
    paired?: PairedBaseline;
    target?: Target;
  } = {},
): Metric {
  const summary = summarise(runs);
  const { baseline, paired } = options;
  let ratio: Metric['ratio'];
  if (paired) {
    if (paired.runs.length !== runs.length) {
      throw new Error(`${name}: ${runs.length} runs but ${paired.runs.length} paired baselines`);
    }
    ratio = {
      to: `${paired.scenario} ${paired.name}, paired runs`,
      value: median(runs.map((r, i) => r / paired.runs[i]!)),
    };
  } else if (baseline) {
    ratio = {
      to: `${baseline.scenario} ${baseline.name}`,
      value: summary.median / baseline.median,
    };
  }
  const target = options.target;
  let met: boolean | undefined;
  if (target) {
    const compared = target.of === 'ratio' ? ratio?.value : summary.median;
    met = compared === undefined || Number.isNaN(compared) ? undefined : meets(compared, target);
  }
  return {
    name,
    unit,
    ...summary,
    ...(ratio ? { ratio } : {}),
    ...(target ? { target } : {}),
    ...(met === undefined ? {} : { met }),
  };
}
