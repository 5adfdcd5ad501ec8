import { defineConfig, type TestProjectConfiguration } from 'vitest/config';
import {
  chromiumProblem,
  onCi,
  POSTGRES_PROBLEM_ENV,
  postgresProblem,
} from './tests/helpers/real-parts.js';

// The delivery, retry, API and OAuth integration suites run twice: on the embedded SQLite store
// and on PostgreSQL (HERALD_TEST_DATABASE_URL, which .ci/run sets; each test in its own schema).
const onBothStores = [
  'tests/integration/onespan-callback.test.ts',
  'tests/integration/onespan-sdk.test.ts',
  'tests/integration/retries.test.ts',
  'tests/integration/v1-api.test.ts',
  'tests/integration/handover.test.ts',
  'tests/integration/shared-reads.test.ts',
  'tests/integration/v1-lists.test.ts',
  'tests/integration/oauth-salesforce.test.ts',
  'tests/integration/redaction.test.ts',
  'tests/integration/token-manager.test.ts',
  'tests/integration/oauth-persist.test.ts',
  'tests/integration/log-redaction.test.ts',
  'tests/integration/operational-events.test.ts',
  'tests/integration/alert-email.test.ts',
  'tests/integration/retention.test.ts',
  'tests/integration/traces.test.ts',
];

interface Probed {
  readonly postgres: string | undefined;
  readonly chromium: string | undefined;
}

// Vitest loads this file more than once per run: probe (and say what is skipped) only once.
const PROBED = Symbol.for('herald.tests.real-parts');
const memo = globalThis as typeof globalThis & { [PROBED]?: Promise<Probed> };

async function probe(): Promise<Probed> {
  const postgres = await postgresProblem();
  const chromium = chromiumProblem();
  if (postgres && !onCi) {
    console.warn(
      `skipping the PostgreSQL suites and the PostgreSQL runs of the integration suites: ${postgres}`,
    );
  }
  if (chromium && !onCi) console.warn(`skipping the browser suites: ${chromium}`);
  return { postgres, chromium };
}

export default defineConfig(async () => {
  // Real parts are probed once per run. On CI a missing one fails the run before any test;
  // elsewhere the suites that need it are skipped, and the run says so.
  const { postgres, chromium } = await (memo[PROBED] ??= probe());
  const missing = [
    ...(chromium ? [`Chromium: ${chromium}`] : []),
    ...(postgres ? [`PostgreSQL: ${postgres}`] : []),
  ];
  if (onCi && missing.length > 0) {
    throw new Error(
      `CI=true, and the tests need real parts that are missing:\n  - ${missing.join('\n  - ')}`,
    );
  }
  return {
    test: {
      pool: 'forks',
      testTimeout: 60_000,
      hookTimeout: 60_000,
      reporters: ['default'],
      env: { [POSTGRES_PROBLEM_ENV]: postgres ?? '' },
      projects: [
        { extends: true as const, test: { name: 'sqlite', include: ['tests/**/*.test.ts'] } },
        // @herald/client's own tests (packages/client/test), run by `npm test` here and in its folder.
        {
          extends: true as const,
          test: { name: 'client', include: ['packages/client/test/**/*.test.ts'] },
        },
        ...(postgres
          ? []
          : [
              <TestProjectConfiguration>{
                extends: true,
                test: {
                  name: 'postgres',
                  include: onBothStores,
                  env: { HERALD_TEST_STORE: 'postgres' },
                },
              },
            ]),
      ],
    },
  };
});
