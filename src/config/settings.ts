// Every server setting in one table: its default, environment variable, flag and doc line.
// docs/configuration.md is generated from this table (`npm run docs`), and a test keeps
// the two in step. Nothing else in Herald reads process.env.

import { parseCidrList } from '../domain/addresses.js';
import type { TracingConfig } from '../observability/tracing.js';
import {
  DEFAULT_RETRY_SCHEDULE,
  formatDuration,
  parseDuration,
  parseRetrySchedule,
} from '../domain/retry.js';

export type Role = 'all' | 'api' | 'worker';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  readonly role: Role;
  readonly publicUrl: string | null;
  readonly consoleSessionMs: number;
  readonly allowPrivateNetwork: boolean;
  readonly allowedNetworks: readonly string[];
  readonly allowPlainHttp: boolean;
  readonly retrySchedule: readonly number[];
  readonly masterKey: string | null;
  readonly apiKey: string | null;
  readonly adminKey: string | null;
  readonly logLevel: LogLevel;
  readonly workerConcurrency: number;
  readonly leaseMs: number;
  readonly handoverMemoryMib: number;
  readonly pollIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly disableAfterMs: number;
  readonly sqliteSynchronous: 'full' | 'normal';
  readonly sqliteThread: 'on' | 'off';
  readonly heapGrowthPercent: number;
  readonly databasePoolSize: number;
  readonly metricsToken: string | null;
  readonly smtpUrl: string | null;
  readonly alertFrom: string | null;
  readonly retentionMs: number | null;
  /** OpenTelemetry, from the standard OTEL_* variables (OTEL_SETTINGS). */
  readonly tracing: TracingConfig;
}

export interface Setting<K extends keyof Config = keyof Config> {
  readonly key: K;
  readonly env: string;
  /** Long flag of `herald serve`, without the dashes; absent for environment-only settings. */
  readonly flag?: string;
  /** Flags that take no value (booleans). */
  readonly boolean?: boolean;
  readonly default: Config[K];
  /** How the default reads in docs and help, when it is not obvious from the value. */
  readonly defaultText?: string;
  readonly doc: string;
  /** Parses a raw string; returns an error message instead when it is not acceptable. */
  readonly parse: (raw: string) => Config[K] | { readonly error: string };
  readonly secret?: boolean;
}

const int =
  (min: number, max: number) =>
  (raw: string): number | { error: string } => {
    const n = raw.trim() === '' ? NaN : Number(raw);
    return Number.isInteger(n) && n >= min && n <= max
      ? n
      : { error: `must be an integer from ${min} to ${max}` };
  };
const duration = (raw: string): number | { error: string } =>
  parseDuration(raw) ?? { error: 'must be a duration such as 500ms, 30s, 5m, 2h or 5d' };
/** The longest wait a timer can hold (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A duration Herald waits with a timer: at most 24 days. */
const timerDuration = (raw: string): number | { error: string } => {
  const ms = duration(raw);
  return typeof ms === 'number' && ms > MAX_TIMER_MS
    ? { error: 'must be at most 24 days (the longest wait a timer can hold)' }
    : ms;
};
const bool = (raw: string): boolean | { error: string } => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off|)$/i.test(raw)) return false;
  return { error: 'must be true or false (or 1/0)' };
};
const text = (raw: string): string | null => (raw === '' ? null : raw);
const smtpUrl = (raw: string): string | null | { error: string } => {
  if (raw === '') return null;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
      return { error: 'must be an smtp:// or smtps:// URL' };
    }
    return u.hostname ? raw : { error: 'must name the SMTP host' };
  } catch {
    return { error: 'must be an absolute smtp:// or smtps:// URL' };
  }
};
function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T | { error: string } =>
    (values as string[]).includes(raw)
      ? (raw as T)
      : { error: `must be one of ${values.join(', ')}` };
}
const url = (raw: string): string | null | { error: string } => {
  if (raw === '') return null;
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:'
      ? raw.replace(/\/+$/, '')
      : { error: 'must be an http(s) URL' };
  } catch {
    return { error: 'must be an absolute URL' };
  }
};

export const SETTINGS: readonly Setting[] = [
  {
    key: 'port',
    env: 'HERALD_PORT',
    flag: 'port',
    default: 8080,
    doc: 'TCP port of the HTTP API, /metrics and /healthz.',
    parse: int(0, 65535),
  },
  {
    key: 'host',
    env: 'HERALD_HOST',
    flag: 'host',
    default: '127.0.0.1',
    doc: 'Address to listen on. Use 0.0.0.0 to accept connections from other machines.',
    parse: (raw) => raw || { error: 'must not be empty' },
  },
  {
    key: 'dataDir',
    env: 'HERALD_DATA_DIR',
    flag: 'data-dir',
    default: './.herald',
    doc: 'Directory of the embedded store, the generated master key and the generated API key.',
    parse: (raw) => raw || { error: 'must not be empty' },
  },
  {
    key: 'databaseUrl',
    env: 'HERALD_DATABASE_URL',
    flag: 'database',
    default: null,
    defaultText: 'SQLite file in the data dir',
    doc: "Store location: a postgres:// URL for PostgreSQL, or a path to an SQLite file. Herald's PostgreSQL sessions are named `herald` in `pg_stat_activity` unless the URL sets `?application_name=`.",
    parse: text,
    secret: true,
  },
  {
    key: 'role',
    env: 'HERALD_ROLE',
    flag: 'role',
    default: 'all',
    doc: 'What this process does: `all` (API and delivery), `api` (HTTP only) or `worker` (delivery, with health and metrics only).',
    parse: oneOf<Role>('all', 'api', 'worker'),
  },
  {
    key: 'publicUrl',
    env: 'HERALD_PUBLIC_URL',
    flag: 'public-url',
    default: null,
    defaultText: 'http://<host>:<port>',
    doc: 'URL under which clients reach this server (behind a proxy, the proxy URL); printed at start.',
    parse: url,
  },
  {
    key: 'consoleSessionMs',
    env: 'HERALD_CONSOLE_SESSION',
    default: 12 * 3600_000,
    defaultText: '12h',
    doc: 'How long a sign-in to the web console (`/console/`) lasts; then the console asks for the API key again.',
    parse: (raw) => {
      const ms = duration(raw);
      return typeof ms === 'number' && (ms < 60_000 || ms > 30 * 24 * 3600_000)
        ? { error: 'must be from 1m to 30d' }
        : ms;
    },
  },
  {
    key: 'allowPrivateNetwork',
    env: 'HERALD_ALLOW_PRIVATE_NETWORK',
    flag: 'allow-private-network',
    boolean: true,
    default: false,
    doc: 'Lift the SSRF guard: allow callbacks and token requests to loopback, private and link-local addresses, and plain http. For development and tests.',
    parse: bool,
  },
  {
    key: 'allowedNetworks',
    env: 'HERALD_ALLOWED_NETWORKS',
    default: [],
    defaultText: 'none',
    doc: 'Comma-separated CIDRs that the SSRF guard allows (plain http is allowed to them too), e.g. `10.1.0.0/16,fd00::/8`.',
    parse: (raw) => {
      try {
        return parseCidrList(raw);
      } catch (error) {
        return {
          error: (error instanceof Error ? error.message : String(error)).replace(
            /^HERALD_ALLOWED_NETWORKS: /,
            '',
          ),
        };
      }
    },
  },
  {
    key: 'allowPlainHttp',
    env: 'HERALD_ALLOW_PLAIN_HTTP',
    default: false,
    doc: 'Allow callbacks and token requests over plain `http://` to public addresses (the SSRF guard still refuses non-public ones). Off by default: a Basic key or a token would cross the network in clear.',
    parse: bool,
  },
  {
    key: 'retrySchedule',
    env: 'HERALD_RETRY_SCHEDULE',
    default: DEFAULT_RETRY_SCHEDULE,
    defaultText: DEFAULT_RETRY_SCHEDULE.map(formatDuration).join(','),
    doc: 'Waits before each retry, comma-separated (`0s,200ms,1s` allows 4 tries in all). ±20 % jitter is applied.',
    parse: (raw) =>
      parseRetrySchedule(raw) ?? { error: 'must be comma-separated durations such as 0s,300ms,5m' },
  },
  {
    key: 'masterKey',
    env: 'HERALD_MASTER_KEY',
    default: null,
    defaultText: 'generated into <data dir>/master.key (embedded store only)',
    doc: 'Key that encrypts secrets at rest: base64 of 32 bytes. Several comma-separated keys rotate: the first encrypts, all decrypt. Required with PostgreSQL.',
    parse: text,
    secret: true,
  },
  {
    key: 'apiKey',
    env: 'HERALD_API_KEY',
    default: null,
    defaultText: 'generated on first start and written to <data dir>/api-key',
    doc: 'API key of the default account, so automation can start a server with a known key (at least 16 characters).',
    parse: (raw) =>
      raw === '' ? null : raw.length >= 16 ? raw : { error: 'must be at least 16 characters' },
    secret: true,
  },
  {
    key: 'adminKey',
    env: 'HERALD_ADMIN_KEY',
    default: null,
    defaultText: 'none (account administration disabled)',
    doc: 'Operator key for /v1/accounts (create accounts and their API keys).',
    parse: (raw) =>
      raw === '' ? null : raw.length >= 16 ? raw : { error: 'must be at least 16 characters' },
    secret: true,
  },
  {
    key: 'logLevel',
    env: 'HERALD_LOG_LEVEL',
    flag: 'log-level',
    default: 'info',
    doc: 'Log level of the JSON logs on stdout.',
    parse: oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  {
    key: 'workerConcurrency',
    env: 'HERALD_WORKER_CONCURRENCY',
    flag: 'concurrency',
    default: 512,
    doc: 'Most deliveries one process sends at once (each endpoint also has its own maximum).',
    parse: int(1, 100_000),
  },
  {
    key: 'leaseMs',
    env: 'HERALD_LEASE',
    default: 60_000,
    defaultText: '60s',
    doc: 'How long a worker holds a delivery before another may take it over (renewed while it works).',
    parse: timerDuration,
  },
  {
    key: 'handoverMemoryMib',
    env: 'HERALD_HANDOVER_MEMORY',
    default: 64,
    doc: "MiB (payload characters plus 400 a delivery) the embedded store's process may keep in memory of new deliveries handed from its publishes straight to its worker, beyond what it sends at once: a burst is delivered without queueing it in the store and claiming it back, up to what each endpoint is sent in a quarter of `HERALD_LEASE` at its recent response times (if it has answered within that time). `0` hands over only what the worker can send at once, as PostgreSQL always does (its other workers take the rest from the store).",
    parse: int(0, 65_536),
  },
  {
    key: 'pollIntervalMs',
    env: 'HERALD_POLL_INTERVAL',
    default: 1000,
    defaultText: '1s',
    doc: 'Longest wait between looks for due work when nothing wakes the worker.',
    parse: timerDuration,
  },
  {
    key: 'shutdownTimeoutMs',
    env: 'HERALD_SHUTDOWN_TIMEOUT',
    default: 10_000,
    defaultText: '10s',
    doc: 'On SIGTERM, how long to let in-flight deliveries finish before giving the rest back.',
    parse: timerDuration,
  },
  {
    key: 'bodyTimeoutMs',
    env: 'HERALD_BODY_TIMEOUT',
    default: 10_000,
    defaultText: '10s',
    doc: 'How long a publish body may take to arrive once Herald starts reading it, plus 2 s per MiB it declares (32 MiB without Content-Length). A slower one is answered 408, so it cannot hold back other publishers.',
    parse: timerDuration,
  },
  {
    key: 'disableAfterMs',
    env: 'HERALD_DISABLE_AFTER',
    default: 5 * 24 * 3600_000,
    defaultText: '5d',
    doc: 'An endpoint failing without a single success for this long is disabled (its events are kept as held).',
    parse: duration,
  },
  {
    key: 'sqliteSynchronous',
    env: 'HERALD_SQLITE_SYNCHRONOUS',
    default: 'full',
    doc: 'SQLite durability of events and configuration: `full` (fsync on commit) survives power loss, `normal` survives process crashes only. Delivery bookkeeping (leases, results) never waits for fsync: a power cut can only cause a redelivery.',
    parse: oneOf<'full' | 'normal'>('full', 'normal'),
  },
  {
    key: 'sqliteThread',
    env: 'HERALD_SQLITE_THREAD',
    default: 'on',
    doc: 'Run the embedded store on its own thread (`on`), so SQLite statements and fsyncs never pause the HTTP work of the event loop: deliveries drain faster (7 to 40 % in paired runs) and sends in flight, `/healthz` and `/metrics` carry on during long statements (releasing a million held deliveries takes seconds), for 10 to 35 MiB more resident memory. `off` runs it on the main thread.',
    parse: oneOf<'on' | 'off'>('on', 'off'),
  },
  {
    key: 'heapGrowthPercent',
    env: 'HERALD_HEAP_GROWTH',
    default: 50,
    doc: 'How far `herald serve` lets the JavaScript heap grow past what was alive after the last full garbage collection before collecting again, in percent. Under a steady delivery load V8 on its own (`0`) lets it grow up to fourfold: about 45 MiB more resident memory for a drain rate that is the same within noise.',
    parse: int(0, 1000),
  },
  {
    key: 'databasePoolSize',
    env: 'HERALD_DATABASE_POOL',
    default: 10,
    doc: 'PostgreSQL connections per process. Claims, results and ingest are batched, so a handful serves thousands of deliveries per second; plan workers x this within max_connections.',
    parse: int(1, 1000),
  },
  {
    key: 'smtpUrl',
    env: 'HERALD_SMTP_URL',
    default: null,
    defaultText: 'none (no emails)',
    doc: 'SMTP server for alert emails to account contacts: `smtp://user:password@host:587` (STARTTLS whenever the server offers it) or `smtps://user:password@host:465` (TLS at once). Percent-encode special characters of the user name and password. Needs HERALD_ALERT_FROM.',
    parse: smtpUrl,
    secret: true,
  },
  {
    key: 'alertFrom',
    env: 'HERALD_ALERT_FROM',
    default: null,
    defaultText: 'none',
    doc: 'Sender of alert emails, e.g. `Herald <herald@example.com>`.',
    parse: (raw) =>
      raw === ''
        ? null
        : /^[^\r\n]*@[^\r\n]*$/.test(raw)
          ? raw
          : {
              error:
                'must be an email address, optionally with a name: Herald <herald@example.com>',
            },
  },
  {
    key: 'retentionMs',
    env: 'HERALD_RETENTION',
    default: 30 * 24 * 3600_000,
    defaultText: '30d',
    doc: 'How long finished history is kept: succeeded and failed deliveries with their attempts (from their last change), events none of whose deliveries remain, idempotency keys, operational events and sent alert emails older than this are deleted in small batches, at start and every minute. Pending, delivering and held deliveries are never deleted. `off` keeps everything.',
    parse: (raw) => (/^off$/i.test(raw.trim()) ? null : duration(raw)),
  },
  {
    key: 'metricsToken',
    env: 'HERALD_METRICS_TOKEN',
    default: null,
    defaultText: 'none (/metrics is open)',
    doc: 'When set, `/metrics` answers only requests with `Authorization: Bearer <this token>` (at least 16 characters); others get `401`. Its series name endpoint ids.',
    parse: (raw) =>
      raw === '' ? null : raw.length >= 16 ? raw : { error: 'must be at least 16 characters' },
    secret: true,
  },
];

/** Settings Herald no longer has, and what to do instead: warned about at start when set. */
export const REMOVED_SETTINGS: Readonly<Record<string, string>> = {
  HERALD_OPERATIONS_WEBHOOK_URL:
    'HERALD_OPERATIONS_WEBHOOK_URL was removed (see CHANGELOG.md): subscribe an endpoint to operational events instead, e.g. PATCH /v1/endpoints/{id} with "events": ["endpoint.disabled", "endpoint.reauthorization_required", "delivery.exhausted"]; deliveries are signed and retried',
};

/**
 * The standard OpenTelemetry variables Herald reads itself (the SDK reads the others it knows,
 * such as OTEL_TRACES_SAMPLER and OTEL_RESOURCE_ATTRIBUTES, from the process environment).
 */
export const OTEL_SETTINGS: ReadonlyArray<{ readonly env: string; readonly doc: string }> = [
  {
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    doc: 'Base URL of the OTLP/HTTP receiver (a collector, or a tracing backend that takes OTLP), e.g. `http://otel-collector:4318`; spans go to `{this}/v1/traces`. Unset (and no traces endpoint): tracing is off and the SDK is not loaded.',
  },
  {
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    doc: 'The full URL for spans, taking precedence over the one above (used as is).',
  },
  {
    env: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    doc: '`http/protobuf` (default) or `http/json`. `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` takes precedence. gRPC is not supported.',
  },
  {
    env: 'OTEL_EXPORTER_OTLP_HEADERS',
    doc: 'Headers for the receiver, `key=value,key2=value2` (values percent-decoded), e.g. an API key. `OTEL_EXPORTER_OTLP_TRACES_HEADERS` is added to them. **Secret.**',
  },
  { env: 'OTEL_SERVICE_NAME', doc: 'The `service.name` of the spans (default `herald`).' },
  {
    env: 'OTEL_SDK_DISABLED',
    doc: '`true` turns tracing off whatever else is set.',
  },
];

/** The OTLP/HTTP traces URL a base endpoint names (`/v1/traces` appended to its path). */
function tracesUrlOf(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function otelUrl(raw: string, name: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' || u.protocol === 'https:') return raw;
  } catch {
    // reported below
  }
  throw new Error(`${name} must be an http(s) URL`);
}

/** Parses `key=value,key2=value2` (values percent-decoded), as the OpenTelemetry spec writes it. */
function otelHeaders(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
  }
  return out;
}

/** Reads the OTEL_* variables above; throws with the variable's name when one is invalid. */
export function tracingConfigFrom(env: NodeJS.ProcessEnv): TracingConfig {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
  const disabled = /^true$/i.test(env.OTEL_SDK_DISABLED ?? '');
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new Error(
      `OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (gRPC is not supported)`,
    );
  }
  const tracesUrl = disabled
    ? null
    : traces
      ? otelUrl(traces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
      : base
        ? tracesUrlOf(otelUrl(base, 'OTEL_EXPORTER_OTLP_ENDPOINT'))
        : null;
  return {
    tracesUrl,
    protocol,
    headers: {
      ...otelHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...otelHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    serviceName: env.OTEL_SERVICE_NAME || 'herald',
  };
}
