import { defineConfig, type TestProjectConfiguration } from 'vitest/config';

// The delivery, retry, API and OAuth integration suites run twice: on the embedded SQLite store
// and on PostgreSQL (HERALD_TEST_DATABASE_URL, which .ci/run sets; each test in its own schema).
const onBothStores = [
  'tests/integration/onespan-callback.test.ts',
  'tests/integration/onespan-sdk.test.ts',
  'tests/integration/retries.test.ts',
  'tests/integration/v1-api.test.ts',
  'tests/integration/v1-lists.test.ts',
  'tests/integration/oauth-salesforce.test.ts',
];

const postgres = process.env.HERALD_TEST_DATABASE_URL;
if (!postgres) {
  console.warn(
    'HERALD_TEST_DATABASE_URL is not set: the PostgreSQL runs of the integration suites are skipped',
  );
}

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      { extends: true as const, test: { name: 'sqlite', include: ['tests/**/*.test.ts'] } },
      // @herald/client's own tests (packages/client/test), run by `npm test` here and in its folder.
      {
        extends: true as const,
        test: { name: 'client', include: ['packages/client/test/**/*.test.ts'] },
      },
      ...(postgres
        ? [
            <TestProjectConfiguration>{
              extends: true,
              test: {
                name: 'postgres',
                include: onBothStores,
                env: { HERALD_TEST_STORE: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
