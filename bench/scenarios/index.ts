// Every scenario, in the order a full run measures them: baselines before what is compared to
// them, the long backlog near the end.

import type { Scenario } from '../lib/scenario.js';
import { backlog } from './backlog.js';
import { basic } from './basic.js';
import { bomb } from './bomb.js';
import { diy } from './diy.js';
import { consolePages } from './console.js';
import { fanout } from './fanout.js';
import { ingest } from './ingest.js';
import { latency } from './latency.js';
import { oauth } from './oauth.js';
import { postgres } from './postgres.js';
import { raw } from './raw.js';
import { retention } from './retention.js';
import { sustained } from './sustained.js';
import { sustainedPg } from './sustained-pg.js';
import { tokens } from './tokens.js';

export const SCENARIOS: readonly Scenario[] = [
  raw,
  basic,
  oauth,
  ingest,
  latency,
  sustained,
  diy,
  fanout,
  tokens,
  backlog,
  postgres,
  bomb,
  sustainedPg,
  consolePages,
  retention,
];
