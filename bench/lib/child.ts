// The runner's side of a forked bench process: start it, wait for `ready`, call its methods,
// learn its clock offset, and stop it (politely, then SIGKILL).

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep, wallNow } from './clock.js';
import { trackPid, untrackPid, type Closable } from './cleanup.js';
import { CLOCK_METHOD, type ArgsOf, type Methods, type ResultOf, type ToParent } from './rpc.js';

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class Child<Api extends Methods<Api>> implements Closable {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly exited: Promise<void>;
  private stderrTail = '';
  private gone = false;
  private exitReason = 'not running';
  /** This child's clock minus the runner's, in ms (see calibrate). */
  offsetMs = 0;

  private constructor(
    readonly label: string,
    private readonly process: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => process.once('exit', () => resolve()));
    // A failed send is reported to its caller (send's callback); unhandled, the 'error' event
    // would end the runner in the middle of its cleanup.
    process.on('error', (error) => {
      this.stderrTail = `${this.stderrTail}\n${String(error)}`.slice(-4000);
    });
    process.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    process.once('exit', (code, signal) => {
      this.gone = true;
      this.exitReason = `exited (${signal ?? `code ${code}`})`;
      if (process.pid !== undefined) untrackPid(process.pid);
      const error = new Error(
        `${label} ${this.exitReason}${this.stderrTail ? `:\n${this.stderrTail}` : ''}`,
      );
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    });
    process.on('message', (message: ToParent) => {
      if (message.kind !== 'reply') return;
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      if (message.ok) call.resolve(message.value);
      else call.reject(new Error(`${label}: ${message.error}`));
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  /**
   * Forks `entry` (a compiled bench module) with `arg` as its JSON argument and resolves with the
   * value it announces when ready. `execArgv: []` keeps flags such as --cpu-prof to the runner.
   */
  static async start<Api extends Methods<Api>, Ready>(
    label: string,
    entry: URL,
    arg: unknown,
    timeoutMs = 15_000,
  ): Promise<{ child: Child<Api>; ready: Ready }> {
    const proc = fork(fileURLToPath(entry), [JSON.stringify(arg)], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    if (proc.pid !== undefined) trackPid(proc.pid);
    const child = new Child<Api>(label, proc);
    try {
      const ready = await new Promise<Ready>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${label} did not start in ${timeoutMs} ms`)),
          timeoutMs,
        );
        proc.on('message', (message: ToParent) => {
          if (message.kind !== 'ready') return;
          clearTimeout(timer);
          resolve(message.value as Ready);
        });
        proc.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`${label} exited before it was ready (${signal ?? `code ${code}`})`));
        });
      });
      await child.calibrate();
      return { child, ready };
    } catch (error) {
      await child.close();
      throw new Error(`${String(error)}${child.stderrTail ? `\n${child.stderrTail}` : ''}`);
    }
  }

  call<K extends keyof Api & string>(
    method: K,
    ...args: ArgsOf<Api[K]>
  ): Promise<ResultOf<Api[K]>> {
    return this.send(method, args[0]) as Promise<ResultOf<Api[K]>>;
  }

  private send(method: string, arg: unknown): Promise<unknown> {
    if (this.gone) return Promise.reject(new Error(`${this.label} ${this.exitReason}`));
    // Once close() has disconnected the child (Ctrl-C stops children while a scenario still
    // calls them), a send would fail with ERR_IPC_CHANNEL_CLOSED: refuse the call instead.
    if (!this.process.connected) {
      return Promise.reject(new Error(`${this.label} is being stopped`));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.process.send({ kind: 'call', id, method, arg }, (error) => {
        if (!error) return;
        this.pending.delete(id);
        reject(new Error(`${this.label}: ${error.message}`));
      });
    });
  }

  /**
   * Estimates the child's clock offset from the round trip with the smallest delay (the sample
   * least disturbed by scheduling); good to a fraction of a millisecond on an idle loop.
   */
  async calibrate(samples = 15): Promise<number> {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < samples; i++) {
      const before = wallNow();
      const theirs = (await this.send(CLOCK_METHOD, null)) as number;
      const after = wallNow();
      if (after - before < best.rtt) {
        best = { rtt: after - before, offset: theirs - (before + after) / 2 };
      }
    }
    this.offsetMs = best.offset;
    return best.offset;
  }

  /** A time read on this child's clock, expressed on the runner's clock. */
  toRunnerClock(childTime: number): number {
    return childTime - this.offsetMs;
  }

  async close(): Promise<void> {
    if (this.gone) return;
    // Disconnecting makes the child exit by itself (rpc.ts); SIGKILL if it does not.
    if (this.process.connected) this.process.disconnect();
    await Promise.race([this.exited, sleep(3000)]);
    if (!this.gone) {
      this.process.kill('SIGKILL');
      await Promise.race([this.exited, sleep(3000)]);
    }
  }
}
