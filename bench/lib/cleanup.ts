// Everything a scenario starts (child processes, servers, Herald, temp dirs) is registered in a
// Scope and closed in reverse order when the scenario ends, fails or times out. Open scopes are
// also closed on SIGINT/SIGTERM, and as a last resort every child pid still alive is SIGKILLed
// when the runner exits, so a failed benchmark never leaves a process behind.

export interface Closable {
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 20_000;
const openScopes = new Set<Scope>();
const childPids = new Set<number>();
let interrupted = false;
let stopping: Promise<void> | null = null;

/** True once SIGINT/SIGTERM arrived: nothing new may start. */
export function isInterrupted(): boolean {
  return interrupted;
}

/** Resolves when the cleanup a signal started is over (the process then exits 130). */
export function interruptCleanup(): Promise<void> {
  return stopping ?? Promise.resolve();
}

export class Scope {
  private readonly items: Array<{ label: string; closable: Closable }> = [];
  private closed = false;

  constructor(readonly label: string) {
    if (interrupted) throw new Error('interrupted');
    openScopes.add(this);
  }

  add<T extends Closable>(label: string, closable: T): T {
    if (this.closed) {
      void closable.close();
      throw new Error(`${this.label}: scope already closed (adding ${label})`);
    }
    this.items.push({ label, closable });
    return closable;
  }

  /** Registers a plain function to run at close. */
  defer(label: string, fn: () => Promise<void> | void): void {
    this.add(label, { close: async () => fn() });
  }

  /** Closes everything added, newest first; a failing or hanging close does not stop the rest. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    openScopes.delete(this);
    for (const { label, closable } of this.items.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          closable.close(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('close timed out')), CLOSE_TIMEOUT_MS);
          }),
        ]);
      } catch (error) {
        process.stderr.write(`  warning: closing ${label} failed: ${String(error)}\n`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

export function trackPid(pid: number): void {
  childPids.add(pid);
}

export function untrackPid(pid: number): void {
  childPids.delete(pid);
}

async function closeAllScopes(): Promise<void> {
  for (const scope of [...openScopes].reverse()) await scope.close();
}

/** Signals close every open scope before exiting; exit kills whatever child is left. */
export function installCleanupHandlers(): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping every process the benchmark started…\n`);
    stopping = closeAllScopes().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const pid of childPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}
