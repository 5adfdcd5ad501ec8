// The shape of a CLI command and the small helpers they share.

import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Whether `out` is a terminal: human output is coloured there (unless NO_COLOR is set). */
  readonly tty?: boolean;
  /** The terminal's width, when `out` is one. */
  readonly columns?: number | undefined;
}

export interface Command {
  /** e.g. `deliveries list` */
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  /** Returns the exit code. */
  run(args: string[], io: Io): Promise<number>;
}

/** A mistake in how the command was called: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  positionals = false,
) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
