// Starts Herald's sandbox org in its own process (sandbox-process.ts).

import { Child } from './child.js';
import type { SandboxApi, SandboxChildOptions, SandboxReady } from './sandbox-protocol.js';

export interface SandboxHandle extends SandboxReady {
  readonly child: Child<SandboxApi>;
  /** The Apex-REST-like listener URL Herald delivers to. */
  readonly listenerUrl: string;
}

export async function startSandboxProcess(options: SandboxChildOptions): Promise<SandboxHandle> {
  const { child, ready } = await Child.start<SandboxApi, SandboxReady>(
    'sandbox',
    new URL('./sandbox-process.js', import.meta.url),
    options,
  );
  return { ...ready, child, listenerUrl: `${ready.url}/services/apexrest/herald/events` };
}
