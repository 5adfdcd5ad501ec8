// Runs the real `herald` CLI as a subprocess (the compiled dist/, as `npx herald` does).

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Sandbox } from '../../src/sandbox/index.js';
import { onFreePort } from './ports.js';

export const HERALD_BIN = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HERALD_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `herald ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

/** Starts `herald serve` and resolves once it prints where it listens. */
export function startServer(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  return startListening(['serve', ...args], env, /listening on (http:\/\/\S+)/, timeoutMs);
}

/**
 * Starts a long-running `herald` command and resolves once its output matches `ready`, whose
 * first group is the URL it serves.
 */
export function startListening(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  const what = `herald ${args[0]}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HERALD_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: 'pipe',
    });
    let out = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          url: match[1]!,
          output: () => out,
          async stop() {
            child.kill('SIGTERM');
            return exited;
          },
          async kill9() {
            child.kill('SIGKILL');
            await exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before listening:\n${out}`));
    });
  });
}

export interface ConnectRun {
  /**
   * The authorization URL, once the command printed it; rejected with the command's stderr when it
   * ends without printing one (a port taken, a bad argument), so a test fails at once and says why.
   */
  readonly authorizeUrl: Promise<string>;
  readonly done: Promise<CliResult>;
}

/** Starts `herald connect salesforce --no-browser ...`, watching stdout for the authorization URL. */
export function startConnect(args: string[], env: Record<string, string> = {}): ConnectRun {
  const child = spawn(
    process.execPath,
    [HERALD_BIN, 'connect', 'salesforce', '--no-browser', ...args],
    {
      env: { ...process.env, ...env },
      stdio: 'pipe',
    },
  );
  let stdout = '';
  let stderr = '';
  let found = false;
  let foundUrl: (url: string) => void;
  let noUrl: (error: Error) => void;
  const authorizeUrl = new Promise<string>((resolve, reject) => {
    foundUrl = resolve;
    noUrl = reject;
  });
  // A test that expects the command to fail early never asks for the URL.
  authorizeUrl.catch(() => undefined);
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    const match = /^\s+(https?:\/\/\S+\?\S*response_type=code\S*)$/m.exec(stdout);
    if (match && !found) {
      found = true;
      foundUrl(match[1]!);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!found) {
        noUrl(
          new Error(
            `herald connect ended (exit code ${code}) without printing an authorization URL; ` +
              `stderr: ${stderr.trim() || '(empty)'}; stdout: ${stdout.trim() || '(empty)'}`,
          ),
        );
      }
      resolve({ code, stdout, stderr });
    });
  });
  return { authorizeUrl, done };
}

/**
 * Starts `herald connect` with `argsFor(port)` on a loopback port and waits for its authorization
 * URL: a port free right now, registered with the provider by `register` first, or, for a
 * provider that needs its redirect URIs when it starts, the first of `ports` registered then. The
 * port is picked before the command listens on it, so another socket can take it in between: then
 * the command ends saying so, and it starts again on the next port (three tries, or every one of
 * `ports`).
 */
export function startConnectOnFreePort(
  argsFor: (port: number) => string[],
  options: {
    env?: Record<string, string>;
    register?: (port: number) => void;
    ports?: readonly number[];
  } = {},
): Promise<{ run: ConnectRun; port: number; authorizeUrl: string }> {
  return onFreePort(
    async (port) => {
      options.register?.(port);
      const run = startConnect(argsFor(port), options.env);
      return { run, port, authorizeUrl: await run.authorizeUrl };
    },
    (error) => String(error).includes('is in use'),
    options.ports,
  );
}

/** The arguments that point `herald connect` at the sandbox's connected app, redirect on `port`. */
export function sandboxAppArgs(sandbox: Sandbox, port: number): string[] {
  return [
    '--client-id',
    sandbox.connectedApp.clientId,
    '--login-url',
    sandbox.url,
    '--port',
    String(port),
  ];
}

/**
 * `herald connect` to the sandbox's connected app on a free port registered with the sandbox,
 * with `more(port)` after its arguments (see startConnectOnFreePort).
 */
export function connectToSandbox(
  sandbox: Sandbox,
  more: (port: number) => string[] = () => [],
  env?: Record<string, string>,
): Promise<{ run: ConnectRun; port: number; authorizeUrl: string }> {
  return startConnectOnFreePort((port) => [...sandboxAppArgs(sandbox, port), ...more(port)], {
    env,
    register: (port) => sandbox.addCallbackUrl(`http://localhost:${port}/OauthRedirect`),
  });
}
