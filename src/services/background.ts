// A task that runs in the background of a Herald process: once at start, again whenever it is
// kicked (something for it just happened), and every `intervalMs` otherwise (what other processes
// or a previous run left). One run at a time; a kick during a run makes another run follow it.
// A run that fails is logged and the next one tries again: nothing here ends the process.

import type { Logger } from '../observability/logger.js';

export abstract class Background {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** One run of the task: does what is due, then returns. */
  protected abstract run(): Promise<void>;

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs soon: at once when idle, right after the run under way otherwise. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** Stops the schedule and waits for the run under way, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce();
    }, ms);
    this.timer.unref();
  }

  private async runOnce(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = this.run().catch((error: unknown) =>
      this.logger.error({ err: error, task: this.name }, `${this.name} failed; will try again`),
    );
    await this.running;
    this.running = null;
    if (this.stopped) return;
    const soon = this.again;
    this.again = false;
    this.schedule(soon ? 0 : this.intervalMs);
  }
}
