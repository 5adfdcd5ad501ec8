// A full garbage collection on demand, for tests that check what stays reachable. V8 exposes
// `gc` only with --expose-gc; setting the flag at run time makes it available to new contexts.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');

/** Collects everything unreachable. WeakRef targets created in the current task stay alive. */
export const collectGarbage = runInNewContext('gc') as () => void;
