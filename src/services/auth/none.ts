// No authentication: no secret, no Authorization header.

import { z } from 'zod';
import { NONE_AUTH } from '../../domain/auth-types.js';
import type { AuthModule } from './module.js';

const schema = z.object({ type: z.literal('NONE') });

export const none: AuthModule<typeof schema> = {
  declaration: NONE_AUTH,
  schema,
  acceptsBody: () => true,
  fromBody: () => ({ type: 'NONE' }),
  acceptsCallback: () => true,
  fromCallback: () => ({ type: 'NONE' }),
  inputs: () => ({}),
  present: () => ({}),
  presentCallback: () => ({ key: null }),
  replaceRefusal: () => 'This endpoint uses no authentication; change its auth instead',
};
