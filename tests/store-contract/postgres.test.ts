// The store contract on PostgreSQL: each test in a fresh schema of HERALD_TEST_DATABASE_URL.

import { it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { describeNeeding } from '../helpers/needs.js';
import { createTestSchema, postgresMissing } from '../helpers/postgres.js';
import { storeContract } from './contract.js';

if (postgresMissing) {
  describeNeeding(postgresMissing, 'store contract on PostgreSQL')(
    'store contract on PostgreSQL',
    () => {
      it.skip(`skipped: ${postgresMissing}`, () => {});
    },
  );
} else {
  storeContract('postgres', async () => {
    const schema = await createTestSchema();
    const store = new PostgresStore({ connectionString: schema.url, poolSize: 4 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  });
}
