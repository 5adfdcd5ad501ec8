import { describe, it, expect } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadConfig, publicUrlOf, removedSettingsIn } from '../../src/config/load.js';
import type { Flags } from '../../src/config/load.js';
import { SETTINGS } from '../../src/config/settings.js';
import type { Config } from '../../src/config/settings.js';
import { DEFAULT_RETRY_SCHEDULE } from '../../src/domain/retry.js';

const KEY16 = 'k'.repeat(16);

function configError(env: NodeJS.ProcessEnv, flags: Flags = {}): ConfigError {
  try {
    loadConfig(env, flags);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig defaults', () => {
  it('uses the documented defaults with an empty environment and no flags', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './.herald',
      databaseUrl: null,
      role: 'all',
      publicUrl: null,
      consoleSessionMs: 12 * 3600_000,
      allowPrivateNetwork: false,
      allowedNetworks: [],
      allowPlainHttp: false,
      retrySchedule: DEFAULT_RETRY_SCHEDULE,
      masterKey: null,
      apiKey: null,
      adminKey: null,
      logLevel: 'info',
      workerConcurrency: 512,
      leaseMs: 60_000,
      handoverMemoryMib: 64,
      pollIntervalMs: 1000,
      shutdownTimeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
      disableAfterMs: 5 * 24 * 3600_000,
      sqliteSynchronous: 'full',
      sqliteThread: 'on',
      heapGrowthPercent: 50,
      databasePoolSize: 10,
      metricsToken: null,
      smtpUrl: null,
      alertFrom: null,
      retentionMs: 30 * 24 * 3600_000,
      tracing: { tracesUrl: null, protocol: 'http/protobuf', headers: {}, serviceName: 'herald' },
    } satisfies Config);
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it('ignores environment variables that are not Herald’s', () => {
    expect(loadConfig({ PORT: '1', HOST: 'x', DATA_DIR: 'y' })).toEqual(loadConfig({}));
  });

  it('has one env var per setting, all HERALD_*, and unique flags', () => {
    const envs = SETTINGS.map((s) => s.env);
    expect(new Set(envs).size).toBe(envs.length);
    for (const env of envs) expect(env).toMatch(/^HERALD_[A-Z_]+$/);
    const flags = SETTINGS.flatMap((s) => (s.flag === undefined ? [] : [s.flag]));
    expect(new Set(flags).size).toBe(flags.length);
  });
});

describe('loadConfig sources', () => {
  it.each<[string, NodeJS.ProcessEnv, Partial<Config>]>([
    ['HERALD_PORT', { HERALD_PORT: '9090' }, { port: 9090 }],
    ['HERALD_PORT=0 (any free port)', { HERALD_PORT: '0' }, { port: 0 }],
    ['HERALD_PORT=65535', { HERALD_PORT: '65535' }, { port: 65535 }],
    ['HERALD_HOST', { HERALD_HOST: '0.0.0.0' }, { host: '0.0.0.0' }],
    ['HERALD_CONSOLE_SESSION', { HERALD_CONSOLE_SESSION: '30m' }, { consoleSessionMs: 1_800_000 }],
    ['HERALD_DATA_DIR', { HERALD_DATA_DIR: '/var/lib/herald' }, { dataDir: '/var/lib/herald' }],
    [
      'HERALD_DATABASE_URL',
      { HERALD_DATABASE_URL: 'postgres://u:p@db/herald' },
      { databaseUrl: 'postgres://u:p@db/herald' },
    ],
    ['an empty HERALD_DATABASE_URL', { HERALD_DATABASE_URL: '' }, { databaseUrl: null }],
    ['HERALD_ROLE', { HERALD_ROLE: 'worker' }, { role: 'worker' }],
    [
      'HERALD_PUBLIC_URL',
      { HERALD_PUBLIC_URL: 'https://herald.example.com' },
      { publicUrl: 'https://herald.example.com' },
    ],
    [
      'HERALD_PUBLIC_URL with trailing slashes',
      { HERALD_PUBLIC_URL: 'https://herald.example.com/base//' },
      { publicUrl: 'https://herald.example.com/base' },
    ],
    ['an empty HERALD_PUBLIC_URL', { HERALD_PUBLIC_URL: '' }, { publicUrl: null }],
    [
      'HERALD_ALLOWED_NETWORKS',
      { HERALD_ALLOWED_NETWORKS: ' 10.1.0.0/16 , fd00::/8,' },
      { allowedNetworks: ['10.1.0.0/16', 'fd00::/8'] },
    ],
    ['HERALD_ALLOW_PLAIN_HTTP', { HERALD_ALLOW_PLAIN_HTTP: 'true' }, { allowPlainHttp: true }],
    ['HERALD_MASTER_KEY', { HERALD_MASTER_KEY: 'abc=' }, { masterKey: 'abc=' }],
    ['HERALD_API_KEY', { HERALD_API_KEY: KEY16 }, { apiKey: KEY16 }],
    ['an empty HERALD_API_KEY', { HERALD_API_KEY: '' }, { apiKey: null }],
    ['HERALD_ADMIN_KEY', { HERALD_ADMIN_KEY: KEY16 }, { adminKey: KEY16 }],
    ['HERALD_LOG_LEVEL', { HERALD_LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
    ['HERALD_WORKER_CONCURRENCY', { HERALD_WORKER_CONCURRENCY: '8' }, { workerConcurrency: 8 }],
    ['HERALD_LEASE', { HERALD_LEASE: '30s' }, { leaseMs: 30_000 }],
    ['HERALD_HANDOVER_MEMORY', { HERALD_HANDOVER_MEMORY: '0' }, { handoverMemoryMib: 0 }],
    ['HERALD_POLL_INTERVAL', { HERALD_POLL_INTERVAL: '250ms' }, { pollIntervalMs: 250 }],
    ['HERALD_SHUTDOWN_TIMEOUT', { HERALD_SHUTDOWN_TIMEOUT: '1m' }, { shutdownTimeoutMs: 60_000 }],
    ['HERALD_DISABLE_AFTER', { HERALD_DISABLE_AFTER: '2d' }, { disableAfterMs: 2 * 86_400_000 }],
    [
      'HERALD_SQLITE_SYNCHRONOUS',
      { HERALD_SQLITE_SYNCHRONOUS: 'normal' },
      { sqliteSynchronous: 'normal' },
    ],
    [
      'HERALD_SMTP_URL',
      { HERALD_SMTP_URL: 'smtps://alerts:p%40ss@mail.example.com:465' },
      { smtpUrl: 'smtps://alerts:p%40ss@mail.example.com:465' },
    ],
    [
      'HERALD_ALERT_FROM',
      { HERALD_ALERT_FROM: 'Herald <herald@example.com>' },
      { alertFrom: 'Herald <herald@example.com>' },
    ],
    ['HERALD_RETENTION', { HERALD_RETENTION: '7d' }, { retentionMs: 7 * 86_400_000 }],
    ['HERALD_RETENTION=off', { HERALD_RETENTION: 'off' }, { retentionMs: null }],
  ])('reads %s from the environment', (_label, env, expected) => {
    const config = loadConfig(env);
    expect(config).toEqual({ ...loadConfig({}), ...expected });
  });

  it.each<[string, Flags, Partial<Config>]>([
    ['--port', { port: '7070' }, { port: 7070 }],
    ['--host', { host: '::' }, { host: '::' }],
    ['--data-dir', { 'data-dir': '/tmp/h' }, { dataDir: '/tmp/h' }],
    ['--database', { database: '/tmp/h/db.sqlite' }, { databaseUrl: '/tmp/h/db.sqlite' }],
    ['--role', { role: 'api' }, { role: 'api' }],
    [
      '--public-url',
      { 'public-url': 'http://localhost:3000/' },
      { publicUrl: 'http://localhost:3000' },
    ],
    ['--allow-private-network', { 'allow-private-network': true }, { allowPrivateNetwork: true }],
    ['--log-level', { 'log-level': 'warn' }, { logLevel: 'warn' }],
    ['--concurrency', { concurrency: '16' }, { workerConcurrency: 16 }],
    ['an undefined flag', { port: undefined }, {}],
  ])('reads %s from the flags', (_label, flags, expected) => {
    expect(loadConfig({}, flags)).toEqual({ ...loadConfig({}), ...expected });
  });

  it('lets the environment override the defaults and the flags override the environment', () => {
    const env = { HERALD_PORT: '9090', HERALD_HOST: '0.0.0.0', HERALD_ROLE: 'worker' };
    const config = loadConfig(env, { port: '7070', role: 'api' });
    expect(config.port).toBe(7070);
    expect(config.host).toBe('0.0.0.0');
    expect(config.role).toBe('api');
    expect(config.dataDir).toBe('./.herald');
  });

  it('ignores flags that are not settings', () => {
    expect(loadConfig({}, { 'no-browser': true, help: true })).toEqual(loadConfig({}));
  });

  it.each<[NodeJS.ProcessEnv, Flags, boolean]>([
    [{}, {}, false],
    [{}, { 'allow-private-network': true }, true],
    [{}, { 'allow-private-network': false }, false],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: '1' }, {}, true],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: 'true' }, {}, true],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: 'TRUE' }, {}, true],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: 'yes' }, {}, true],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: 'on' }, {}, true],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: '0' }, {}, false],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: 'false' }, {}, false],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: 'no' }, {}, false],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: 'off' }, {}, false],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: '' }, {}, false],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: '1' }, { 'allow-private-network': false }, false],
    [{ HERALD_ALLOW_PRIVATE_NETWORK: '0' }, { 'allow-private-network': true }, true],
    [{}, { 'allow-private-network': 'true' }, true],
  ])('reads the boolean from env %j and flags %j as %s', (env, flags, expected) => {
    expect(loadConfig(env, flags).allowPrivateNetwork).toBe(expected);
  });

  it.each<[string, readonly number[]]>([
    ['0s,300ms,300ms,300ms', [0, 300, 300, 300]],
    ['0s,200ms,1s', [0, 200, 1000]],
    ['1m, 5m, 1h', [60_000, 300_000, 3_600_000]],
    ['5s,5m,30m,2h,5h,10h,10h,14h,20h,24h', DEFAULT_RETRY_SCHEDULE],
  ])('parses HERALD_RETRY_SCHEDULE=%j', (text, schedule) => {
    expect(loadConfig({ HERALD_RETRY_SCHEDULE: text }).retrySchedule).toEqual(schedule);
  });
});

describe('loadConfig errors', () => {
  it.each<[NodeJS.ProcessEnv, string]>([
    [{ HERALD_PORT: 'eighty' }, 'HERALD_PORT must be an integer from 0 to 65535'],
    [{ HERALD_PORT: '65536' }, 'HERALD_PORT must be an integer from 0 to 65535'],
    [{ HERALD_PORT: '-1' }, 'HERALD_PORT must be an integer from 0 to 65535'],
    [
      { HERALD_HANDOVER_MEMORY: '1.5' },
      'HERALD_HANDOVER_MEMORY must be an integer from 0 to 65536',
    ],
    [{ HERALD_PORT: '80.5' }, 'HERALD_PORT must be an integer from 0 to 65535'],
    [{ HERALD_HOST: '' }, 'HERALD_HOST must not be empty'],
    [{ HERALD_DATA_DIR: '' }, 'HERALD_DATA_DIR must not be empty'],
    [{ HERALD_ROLE: 'both' }, 'HERALD_ROLE must be one of all, api, worker'],
    [{ HERALD_ROLE: 'ALL' }, 'HERALD_ROLE must be one of all, api, worker'],
    [{ HERALD_PUBLIC_URL: 'herald.example.com' }, 'HERALD_PUBLIC_URL must be an absolute URL'],
    [{ HERALD_PUBLIC_URL: 'ftp://herald.example.com' }, 'HERALD_PUBLIC_URL must be an http(s) URL'],
    [
      { HERALD_ALLOW_PRIVATE_NETWORK: 'maybe' },
      'HERALD_ALLOW_PRIVATE_NETWORK must be true or false (or 1/0)',
    ],
    [
      { HERALD_RETRY_SCHEDULE: '5s,soon' },
      'HERALD_RETRY_SCHEDULE must be comma-separated durations such as 0s,300ms,5m',
    ],
    [
      { HERALD_RETRY_SCHEDULE: '' },
      'HERALD_RETRY_SCHEDULE must be comma-separated durations such as 0s,300ms,5m',
    ],
    [
      { HERALD_RETRY_SCHEDULE: '5,10,20' },
      'HERALD_RETRY_SCHEDULE must be comma-separated durations such as 0s,300ms,5m',
    ],
    [{ HERALD_API_KEY: 'short' }, 'HERALD_API_KEY must be at least 16 characters'],
    [{ HERALD_CONSOLE_SESSION: '10s' }, 'HERALD_CONSOLE_SESSION must be from 1m to 30d'],
    [
      { HERALD_CONSOLE_SESSION: 'soon' },
      'HERALD_CONSOLE_SESSION must be a duration such as 500ms, 30s, 5m, 2h or 5d',
    ],
    [{ HERALD_ADMIN_KEY: 'k'.repeat(15) }, 'HERALD_ADMIN_KEY must be at least 16 characters'],
    [
      { HERALD_LOG_LEVEL: 'verbose' },
      'HERALD_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ],
    [
      { HERALD_WORKER_CONCURRENCY: '0' },
      'HERALD_WORKER_CONCURRENCY must be an integer from 1 to 100000',
    ],
    [{ HERALD_LEASE: '60' }, 'HERALD_LEASE must be a duration such as 500ms, 30s, 5m, 2h or 5d'],
    [
      { HERALD_BODY_TIMEOUT: '25d' },
      'HERALD_BODY_TIMEOUT must be at most 24 days (the longest wait a timer can hold)',
    ],
    [
      { HERALD_SHUTDOWN_TIMEOUT: '99999d' },
      'HERALD_SHUTDOWN_TIMEOUT must be at most 24 days (the longest wait a timer can hold)',
    ],
    [{ HERALD_SQLITE_SYNCHRONOUS: 'off' }, 'HERALD_SQLITE_SYNCHRONOUS must be one of full, normal'],
    [
      { HERALD_SMTP_URL: 'https://user:secret@mail.example.com' },
      'HERALD_SMTP_URL must be an smtp:// or smtps:// URL',
    ],
    [
      { HERALD_SMTP_URL: 'mail.example.com:587' },
      'HERALD_SMTP_URL must be an smtp:// or smtps:// URL',
    ],
    [
      { HERALD_ALERT_FROM: 'herald' },
      'HERALD_ALERT_FROM must be an email address, optionally with a name: Herald <herald@example.com>',
    ],
    [
      { HERALD_RETENTION: 'forever' },
      'HERALD_RETENTION must be a duration such as 500ms, 30s, 5m, 2h or 5d',
    ],
  ])('refuses %j', (env, message) => {
    expect(configError(env).message).toBe(message);
  });

  it.each<[Flags, string]>([
    [{ port: 'abc' }, '--port must be an integer from 0 to 65535'],
    [{ host: '' }, '--host must not be empty'],
    [{ role: 'admin' }, '--role must be one of all, api, worker'],
    [{ 'public-url': 'mailto:a@b.c' }, '--public-url must be an http(s) URL'],
    [
      { 'allow-private-network': 'perhaps' },
      '--allow-private-network must be true or false (or 1/0)',
    ],
    [
      { 'log-level': 'loud' },
      '--log-level must be one of fatal, error, warn, info, debug, trace, silent',
    ],
  ])('refuses flags %j', (flags, message) => {
    expect(configError({}, flags).message).toBe(message);
  });

  it('names the flag, not the env var, when only the flag is wrong', () => {
    const err = configError({ HERALD_PORT: '9090' }, { port: 'x' });
    expect(err.message).toMatch(/^--port /);
    expect(err.name).toBe('ConfigError');
  });

  it('never repeats a secret value in its error', () => {
    const err = configError({ HERALD_API_KEY: 'tooshortsecret' });
    expect(err.message).not.toContain('tooshortsecret');
    const smtp = configError({ HERALD_SMTP_URL: 'http://alerts:hunter2@mail.example.com' });
    expect(smtp.message).not.toContain('hunter2');
  });

  it.each<[NodeJS.ProcessEnv, Partial<Config['tracing']>]>([
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' },
      { tracesUrl: 'http://collector:4318/v1/traces' },
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/base/' },
      { tracesUrl: 'http://c:4318/base/v1/traces' },
    ],
    [
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/t',
      },
      { tracesUrl: 'https://b/t' },
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' },
      { tracesUrl: null },
    ],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, { protocol: 'http/json' }],
    [
      {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      },
      { protocol: 'http/protobuf' },
    ],
    [
      { OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b,x=1', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x=2' },
      { headers: { 'api-key': 'a b', x: '2' } },
    ],
    [{ OTEL_SERVICE_NAME: 'herald-eu' }, { serviceName: 'herald-eu' }],
  ])('reads OpenTelemetry from %j', (env, expected) => {
    expect(loadConfig(env).tracing).toEqual({ ...loadConfig({}).tracing, ...expected });
  });

  it.each<[NodeJS.ProcessEnv, string]>([
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (gRPC is not supported)',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL',
    ],
  ])('refuses OpenTelemetry settings %j', (env, message) => {
    expect(configError(env).message).toBe(message);
  });

  it('names removed settings that are still set, and what replaces them', () => {
    expect(removedSettingsIn({})).toEqual([]);
    expect(removedSettingsIn({ HERALD_OPERATIONS_WEBHOOK_URL: '' })).toEqual([]);
    const [message] = removedSettingsIn({ HERALD_OPERATIONS_WEBHOOK_URL: 'http://ops/hook' });
    expect(message).toMatch(/HERALD_OPERATIONS_WEBHOOK_URL was removed/);
    expect(message).toMatch(/endpoint\.disabled/);
    expect(message).not.toContain('http://ops/hook');
  });

  // An empty variable, as `HERALD_PORT= herald serve` or a blank line in an env file gives,
  // must not silently mean port 0 (a random port): refuse it as HERALD_HOST='' is refused.
  it('does not read an empty HERALD_PORT as port 0', () => {
    expect(configError({ HERALD_PORT: '' }).message).toMatch(/^HERALD_PORT /);
  });

  // The SSRF allow-list is validated when the server starts, not on the first delivery.
  it.each(['10.0.0.0/33', 'not-a-network', '10.0.0.0/8,garbage'])(
    'refuses HERALD_ALLOWED_NETWORKS=%j at start-up',
    (value) => {
      expect(configError({ HERALD_ALLOWED_NETWORKS: value }).message).toMatch(
        /^HERALD_ALLOWED_NETWORKS\b/,
      );
    },
  );
});

describe('publicUrlOf', () => {
  const base = loadConfig({});
  it.each<[Partial<Config>, string]>([
    [{}, 'http://127.0.0.1:8080'],
    [{ port: 9000 }, 'http://127.0.0.1:9000'],
    [{ host: '0.0.0.0' }, 'http://localhost:8080'],
    [{ host: '::' }, 'http://localhost:8080'],
    [{ host: '::1' }, 'http://[::1]:8080'],
    [{ host: 'fd00::5', port: 81 }, 'http://[fd00::5]:81'],
    [{ host: 'herald.local' }, 'http://herald.local:8080'],
    [{ publicUrl: 'https://herald.example.com' }, 'https://herald.example.com'],
    [
      { publicUrl: 'https://herald.example.com/base', host: '0.0.0.0' },
      'https://herald.example.com/base',
    ],
  ])('gives %j → %s', (overrides, url) => {
    expect(publicUrlOf({ ...base, ...overrides })).toBe(url);
  });

  it('uses the configured public URL without its trailing slash', () => {
    const config = loadConfig({ HERALD_PUBLIC_URL: 'https://herald.example.com/' });
    expect(publicUrlOf(config)).toBe('https://herald.example.com');
  });
});
