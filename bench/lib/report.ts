// The run's report: a table on stdout for people, and JSON in bench/results/ for history
// (latest.json, plus a copy named after the run's start time).

import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MachineInfo, SourceInfo } from './machine.js';
import type { Metric, ScenarioResult, Target } from './result.js';
import type { BenchOptions } from './scenario.js';

export interface Report {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  readonly loadAverageAtEnd: number;
  readonly source: SourceInfo;
  readonly herald: {
    readonly version: string;
    readonly sqliteSynchronous: string;
    readonly sqliteThread: string;
  };
  readonly scenarios: readonly ScenarioResult[];
}

const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

export function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toString();
}

function formatTarget(target: Target | undefined, unit: string): string {
  if (!target) return '';
  const value =
    target.of === 'ratio'
      ? `${target.value} ×`
      : target.op === '=='
        ? formatNumber(target.value)
        : `${formatNumber(target.value)} ${unit}`;
  return `${target.op === '==' ? '=' : target.op === '>=' ? '≥' : '≤'} ${value}`;
}

function metricRow(scenario: string, m: Metric): string[] {
  return [
    scenario,
    `${m.name}`,
    formatNumber(m.median),
    formatNumber(m.min),
    formatNumber(m.max),
    m.unit,
    m.ratio ? `${m.ratio.value.toFixed(2)} × ${m.ratio.to}` : '',
    formatTarget(m.target, m.unit),
    m.met === undefined ? '' : m.met ? 'yes' : 'NO',
  ];
}

/** Rows of the results table; `markdown` for docs/benchmarks.md. */
export function formatTable(scenarios: readonly ScenarioResult[], markdown = false): string {
  const header = ['scenario', 'figure', 'median', 'min', 'max', 'unit', 'ratio', 'target', 'met'];
  const rows: string[][] = [];
  for (const s of scenarios) {
    if (s.status !== 'ok') {
      rows.push([s.name, `${s.status}: ${s.reason ?? ''}`, '', '', '', '', '', '', '']);
      continue;
    }
    for (const m of s.metrics) rows.push(metricRow(s.name, m));
  }
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
  }
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => Math.min(r[i]!.length, i === 1 ? 60 : 200))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Writes latest.json and <start time>.json; returns their paths. */
export function writeReport(report: Report): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamped = `${RESULTS_DIR}${report.startedAt.replace(/:/g, '-')}.json`;
  const latest = `${RESULTS_DIR}latest.json`;
  writeFileSync(stamped, json);
  writeFileSync(latest, json);
  return [latest, stamped];
}
