// The CLI's human output: tables with readable labels that fit the terminal (100 columns when
// the output is not a terminal), details for one resource, relative times, and colours only on a
// terminal and never when NO_COLOR is set (https://no-color.org).

import type { Io } from './command.js';

export type Style = 'green' | 'red' | 'yellow' | 'cyan' | 'dim' | 'bold';
const CODES: Record<Style, [number, number]> = {
  green: [32, 39],
  red: [31, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
};

/** Where human output goes: whether it may be coloured, and how wide it may be. */
export interface Output {
  readonly color: boolean;
  readonly width: number;
  /** Now, for relative times. */
  readonly now: number;
}

export const DEFAULT_WIDTH = 100;

export function outputOf(io: Io, now = Date.now()): Output {
  const noColor = (io.env.NO_COLOR ?? '') !== '';
  return {
    color: io.tty === true && !noColor,
    width: io.tty === true && io.columns ? io.columns : DEFAULT_WIDTH,
    now,
  };
}

export function paint(text: string, style: Style | undefined, output: Output): string {
  if (!style || !output.color) return text;
  const [on, off] = CODES[style];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

/** The colour of a state word: green for healthy, yellow for waiting on someone, red for broken. */
export function stateStyle(value: string): Style | undefined {
  switch (value) {
    case 'succeeded':
    case 'enabled':
    case 'ok':
      return 'green';
    case 'failed':
    case 'disabled':
    case 'reauthorization_required':
      return 'red';
    case 'held':
    case 'unverified':
      return 'yellow';
    case 'pending':
    case 'delivering':
      return 'cyan';
    default:
      return undefined;
  }
}

export interface Column<R> {
  readonly label: string;
  readonly value: (row: R) => string | number | null | undefined;
  /** May be cut (ending in …) down to this many characters when the table is too wide. */
  readonly shrinkTo?: number;
  readonly style?: (value: string) => Style | undefined;
  readonly align?: 'right';
}

const GAP = 2;

function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/** One line of text from any value: line breaks and runs of spaces become one space. */
function oneLine(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/\s+/g, ' ');
}

/** A table with a header row; shrinkable columns give way until the lines fit `output.width`. */
export function table<R>(
  rows: readonly R[],
  columns: readonly Column<R>[],
  output: Output,
): string {
  const cells = rows.map((row) => columns.map((c) => oneLine(c.value(row))));
  const widths = columns.map((c, i) =>
    Math.max(c.label.length, ...cells.map((line) => line[i]!.length)),
  );
  let overflow = widths.reduce((a, b) => a + b, 0) + GAP * (columns.length - 1) - output.width;
  while (overflow > 0) {
    let widest = -1;
    columns.forEach((c, i) => {
      const floor = Math.max(c.shrinkTo ?? Infinity, c.label.length);
      if (widths[i]! > floor && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    });
    if (widest < 0) break;
    widths[widest]!--;
    overflow--;
  }
  const line = (values: string[], style: (i: number, value: string) => Style | undefined) =>
    values
      .map((value, i) => {
        const text = cut(value, widths[i]!);
        const padded =
          columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
        return paint(padded, style(i, value), output);
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  return [
    line(
      columns.map((c) => c.label),
      () => 'bold',
    ),
    ...cells.map((values) => line(values, (i, value) => columns[i]!.style?.(value))),
  ].join('\n');
}

/** Labelled lines for one resource: labels aligned, values as given (already painted or not). */
export function details(
  title: string,
  entries: ReadonlyArray<readonly [string, string | number | null | undefined]>,
  output: Output,
): string {
  const width = Math.max(...entries.map(([label]) => label.length));
  return [
    paint(title, 'bold', output),
    ...entries.map(([label, value]) => {
      const text = value === null || value === undefined || value === '' ? '-' : String(value);
      const indented = text.replace(/\n/g, `\n  ${' '.repeat(width + GAP)}`);
      return `  ${paint(label.padEnd(width), 'dim', output)}${' '.repeat(GAP)}${indented}`;
    }),
  ].join('\n');
}

/** `3m ago`, `in 2h`, `now`: a duration from `now` in its largest whole unit. */
export function relative(iso: string | null | undefined, now: number): string | null {
  if (!iso) return null;
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((at - now) / 1000);
  const size = Math.abs(seconds);
  if (size < 1) return 'now';
  const units: Array<[number, string]> = [
    [86_400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const [unit, name] = units.find(([u]) => size >= u)!;
  const amount = `${Math.floor(size / unit)}${name}`;
  return seconds < 0 ? `${amount} ago` : `in ${amount}`;
}

/** An ISO time with its relative form: `2026-01-31 12:00:05Z (3m ago)`. */
export function when(iso: string | null | undefined, now: number): string | null {
  if (!iso) return null;
  return `${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} (${relative(iso, now)})`;
}
