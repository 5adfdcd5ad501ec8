// The shape of what scenarios report, as written to bench/results/*.json.

import { summarise, type Summary } from './stats.js';

export interface Target {
  /** The figure compared: the metric's median itself, or its ratio to the baseline. */
  readonly of: 'value' | 'ratio';
  readonly op: '>=' | '<=' | '==';
  readonly value: number;
}

export interface Metric extends Summary {
  readonly name: string;
  readonly unit: string;
  /** Median divided by the baseline metric's median, measured in the same run. */
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

export function metric(
  name: string,
  unit: string,
  runs: readonly number[],
  options: { baseline?: Metric & { scenario: string }; target?: Target } = {},
): Metric {
  const summary = summarise(runs);
  const ratio = options.baseline
    ? {
        to: `${options.baseline.scenario} ${options.baseline.name}`,
        value: summary.median / options.baseline.median,
      }
    : undefined;
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
