// `node dist/bench/table.js [results.json]`: prints a results file (default
// bench/results/latest.json) as the Markdown table and machine line docs/benchmarks.md quotes.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatTable, type Report } from './lib/report.js';

const file =
  process.argv[2] ?? fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url));
const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
const m = report.machine;
process.stdout.write(
  `${formatTable(report.scenarios, true)}\n\n` +
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; ` +
    `load average ${m.loadAverageAtStart} at start, ${report.loadAverageAtEnd} at end; ` +
    `commit ${report.source.commit?.slice(0, 7) ?? 'unknown'}${report.source.dirty ? ' (with uncommitted changes)' : ''}; ` +
    `\`${report.command ? `npm run bench -- ${report.command}` : 'npm run bench'}\`, ${report.startedAt}\n`,
);
