// `npm run bench [-- --scenario NAME ...] [--quick]`: runs the benchmark scenarios on loopback,
// prints the results table on stdout (progress goes to stderr) and writes bench/results/*.json.
// Every scenario is bounded in time and stops by itself; whatever it started is stopped at the
// end, on failure, on timeout and on Ctrl-C.

import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { VERSION } from '../src/version.js';
import { installCleanupHandlers, interruptCleanup, isInterrupted, Scope } from './lib/cleanup.js';
import { sqliteSynchronous, sqliteThread } from './lib/herald.js';
import { machineInfo, sourceInfo } from './lib/machine.js';
import { formatTable, writeReport } from './lib/report.js';
import type { ScenarioResult } from './lib/result.js';
import type { BenchOptions, Scenario } from './lib/scenario.js';
import { SCENARIOS } from './scenarios/index.js';

const HELP = `Usage: npm run bench -- [options]

  --scenario, -s NAME   run only these scenarios (repeat, or comma-separate); default: all
                        ${SCENARIOS.map((s) => s.name).join(', ')}
  --quick               fewer, shorter runs (3 runs of 2 s, backlog of 100,000)
  --runs N              measured runs per scenario (default 5, quick 3; backlog runs once)
  --duration S          seconds per timed run (default 5, quick 2)
  --deliveries N        events delivered per run in basic, oauth, postgres (default 30000)
  --backlog-size N      pending deliveries in the backlog scenario (default 1000000, quick 100000)
  --events N            events published per run in sustained, diy, sustained-pg (default 50000,
                        quick 10000)
  --latency-rate N      events/s of the latency scenario and of sustained's fixed-rate run
                        (default 2000; their targets are at 2000)
  --no-baseline         do not add the baseline (raw) a requested scenario is compared to
  --list                list the scenarios and exit

Results: a table on stdout, bench/results/latest.json and bench/results/<start time>.json.
See docs/benchmarks.md.`;

function positiveInt(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number`);
  return n;
}

function parseOptions(argv: string[]): { options: BenchOptions; names: string[]; list: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', short: 's', multiple: true },
      quick: { type: 'boolean' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      deliveries: { type: 'string' },
      'backlog-size': { type: 'string' },
      events: { type: 'string' },
      'latency-rate': { type: 'string' },
      'no-baseline': { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const durationMs = positiveInt(values.duration, '--duration', quick ? 2 : 5) * 1000;
  const options: BenchOptions = {
    quick,
    runs: Math.round(positiveInt(values.runs, '--runs', quick ? 3 : 5)),
    durationMs,
    warmupMs: quick ? 500 : 1000,
    deliveries: Math.round(positiveInt(values.deliveries, '--deliveries', quick ? 10_000 : 30_000)),
    backlogSize: Math.round(
      positiveInt(values['backlog-size'], '--backlog-size', quick ? 100_000 : 1_000_000),
    ),
    events: Math.round(positiveInt(values.events, '--events', quick ? 10_000 : 50_000)),
    latencyRate: Math.round(positiveInt(values['latency-rate'], '--latency-rate', 2000)),
    baselines: !(values['no-baseline'] ?? false),
  };
  const names = (values.scenario ?? []).flatMap((s) => s.split(',')).map((s) => s.trim());
  return { options, names: names.filter(Boolean), list: values.list ?? false };
}

function select(names: string[], baselines: boolean): Scenario[] {
  if (names.length === 0) return [...SCENARIOS];
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  const wanted = new Set(names);
  if (baselines) {
    for (const s of SCENARIOS) if (wanted.has(s.name) && s.baseline) wanted.add(s.baseline);
  }
  return SCENARIOS.filter((s) => wanted.has(s.name));
}

async function runScenario(
  scenario: Scenario,
  options: BenchOptions,
  results: ReadonlyMap<string, ScenarioResult>,
): Promise<ScenarioResult> {
  const started = performance.now();
  const log = (line: string): void => void process.stderr.write(`  [${scenario.name}] ${line}\n`);
  process.stderr.write(`\n▶ ${scenario.name}: ${scenario.title}\n`);
  const scope = new Scope(scenario.name);
  const limit = scenario.timeoutMs(options);
  let timer: NodeJS.Timeout | undefined;
  const base = { name: scenario.name, title: scenario.title };
  try {
    const outcome = await Promise.race([
      scenario.run({ options, scope, results, log }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`scenario did not finish in ${Math.round(limit / 1000)} s`)),
          limit,
        );
      }),
    ]);
    const seconds = (performance.now() - started) / 1000;
    if (outcome.skipped !== undefined) {
      log(`skipped: ${outcome.skipped}`);
      return {
        ...base,
        status: 'skipped',
        reason: outcome.skipped,
        method: outcome.method,
        metrics: [],
        details: outcome.details,
        seconds,
      };
    }
    return {
      ...base,
      status: 'ok',
      method: outcome.method,
      metrics: outcome.metrics,
      details: outcome.details,
      seconds,
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log(`FAILED: ${reason}`);
    return {
      ...base,
      status: 'failed',
      reason: reason.split('\n')[0]!,
      method: '',
      metrics: [],
      details: { error: reason },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    clearTimeout(timer);
    await scope.close();
  }
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const { options, names, list } = parseOptions(process.argv.slice(2));
  if (list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(10)} ${s.title}\n`);
    return 0;
  }
  const scenarios = select(names, options.baselines);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const source = sourceInfo();
  process.stderr.write(
    `Herald ${VERSION} benchmarks${options.quick ? ' (quick)' : ''}: ${scenarios.map((s) => s.name).join(', ')}\n` +
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, load ${machine.loadAverageAtStart}\n`,
  );
  const results = new Map<string, ScenarioResult>();
  for (const scenario of scenarios) {
    // After Ctrl-C the signal handler stops everything and exits: start nothing new meanwhile.
    if (isInterrupted()) {
      await interruptCleanup();
      return 130;
    }
    results.set(scenario.name, await runScenario(scenario, options, results));
  }
  const scenarioResults = [...results.values()];
  process.stdout.write(`\n${formatTable(scenarioResults)}\n`);
  const paths = writeReport({
    startedAt,
    finishedAt: new Date().toISOString(),
    command: process.argv.slice(2).join(' '),
    options,
    machine,
    loadAverageAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    source,
    herald: {
      version: VERSION,
      sqliteSynchronous: sqliteSynchronous(),
      sqliteThread: sqliteThread(),
    },
    scenarios: scenarioResults,
  });
  process.stderr.write(`\nwrote ${paths.join(' and ')}\n`);
  return scenarioResults.some((r) => r.status === 'failed') ? 1 : 0;
}

// After Ctrl-C the scenario under way fails and main() returns while the signal's cleanup may
// still be stopping what it started (a queue to obliterate, a database to drop): exiting then
// would cut that short, so wait for it (it exits 130 itself).
main().then(
  async (code) => {
    await interruptCleanup();
    process.exit(code);
  },
  async (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    await interruptCleanup();
    process.exit(2);
  },
);
