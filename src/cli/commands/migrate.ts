// `herald migrate`: bring the store's schema up to date (the server also does this on start).

import { loadConfig } from '../../config/load.js';
import { openStore } from '../../app/store.js';
import { parse, type Command } from '../command.js';

export const migrate: Command = {
  name: 'migrate',
  summary: "Create or upgrade the store's schema",
  help: `Usage: herald migrate [--data-dir DIR] [--database URL]

Applies the numbered migrations the store has not seen yet and reports them. Safe to run
repeatedly; \`herald serve\` runs it on start too.`,
  async run(args, io) {
    const { values } = parse(args, {
      'data-dir': { type: 'string' },
      database: { type: 'string' },
    });
    const config = loadConfig(io.env, values);
    const store = openStore(config);
    try {
      const report = await store.migrate();
      if (report.applied.length === 0)
        io.out(`${store.description} is up to date (schema version ${report.to}).`);
      else
        io.out(
          `${store.description}: applied ${report.applied.join(', ')} (schema version ${report.from} -> ${report.to}).`,
        );
    } finally {
      await store.close();
    }
    return 0;
  },
};
