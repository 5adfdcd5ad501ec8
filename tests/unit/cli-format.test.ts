// The CLI's human output, as pure functions: colour only on a terminal and never with NO_COLOR,
// tables cut to the width with an ellipsis, relative times.

import { describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/command.js';
import { details, outputOf, relative, stateStyle, table, when } from '../../src/cli/format.js';

const io = (tty: boolean, env: Record<string, string> = {}, columns?: number): Io => ({
  out: () => {},
  err: () => {},
  env,
  tty,
  columns,
});
const ESC = '\u001b[';

describe('CLI output', () => {
  const rows = [
    { id: 'dlv_1', status: 'failed', error: 'connection refused by the listener at 10.0.0.1' },
    { id: 'dlv_2', status: 'succeeded', error: null },
  ];
  const columns = [
    { label: 'ID', value: (r: (typeof rows)[number]) => r.id },
    { label: 'Status', value: (r: (typeof rows)[number]) => r.status, style: stateStyle },
    { label: 'Last error', value: (r: (typeof rows)[number]) => r.error, shrinkTo: 10 },
  ];

  it('colours states and headers on a terminal, and nowhere else', () => {
    const tty = table(rows, columns, outputOf(io(true)));
    expect(tty).toContain(`${ESC}31mfailed   ${ESC}39m`);
    expect(tty).toContain(`${ESC}32msucceeded${ESC}39m`);
    expect(tty).toContain(`${ESC}1mID`);
    expect(table(rows, columns, outputOf(io(false)))).not.toContain(ESC);
    expect(table(rows, columns, outputOf(io(true, { NO_COLOR: '1' })))).not.toContain(ESC);
    // NO_COLOR set but empty does not count (no-color.org).
    expect(table(rows, columns, outputOf(io(true, { NO_COLOR: '' })))).toContain(ESC);
  });

  it('fits the width by cutting the columns that may be cut, with an ellipsis', () => {
    const plain = table(rows, columns, { color: false, width: 40, now: 0 });
    const lines = plain.split('\n');
    expect(lines.every((l) => l.length <= 40)).toBe(true);
    expect(lines[0]).toBe('ID     Status     Last error');
    expect(lines[1]).toBe('dlv_1  failed     connection refused by…');
    expect(lines[2]).toBe('dlv_2  succeeded  -');
    // Not below the column's floor: then the line stays longer than asked.
    const narrow = table(rows, columns, { color: false, width: 10, now: 0 }).split('\n');
    expect(narrow[1]).toBe('dlv_1  failed     connectio…');
    // A terminal's own width is used there; elsewhere 100 columns.
    expect(outputOf(io(true, {}, 60)).width).toBe(60);
    expect(outputOf(io(false, {}, 60)).width).toBe(100);
  });

  it('says times relative to now', () => {
    const now = Date.parse('2026-01-31T12:00:00Z');
    expect(relative('2026-01-31T11:57:00Z', now)).toBe('3m ago');
    expect(relative('2026-01-31T14:30:00Z', now)).toBe('in 2h');
    expect(relative('2026-01-29T12:00:00Z', now)).toBe('2d ago');
    expect(relative('2026-01-31T12:00:00Z', now)).toBe('now');
    expect(relative(null, now)).toBeNull();
    expect(when('2026-01-31T11:59:55.123Z', now)).toBe('2026-01-31 11:59:55Z (5s ago)');
  });

  it('shows one resource as aligned labels, multi-line values indented', () => {
    const text = details(
      'Event evt_1',
      [
        ['Name', 'PACKAGE_COMPLETE'],
        ['Payload', '{\n  "a": 1\n}'],
        ['Message', null],
      ],
      { color: false, width: 100, now: 0 },
    );
    expect(text).toBe(
      [
        'Event evt_1',
        '  Name     PACKAGE_COMPLETE',
        '  Payload  {',
        '             "a": 1',
        '           }',
        '  Message  -',
      ].join('\n'),
    );
  });
});
