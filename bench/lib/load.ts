// Starts the load generator process (load-process.ts).

import { Child } from './child.js';
import type { LoadApi } from './load-protocol.js';

export async function startLoadGenerator(): Promise<Child<LoadApi>> {
  const { child } = await Child.start<LoadApi, null>(
    'load generator',
    new URL('./load-process.js', import.meta.url),
    null,
  );
  return child;
}
