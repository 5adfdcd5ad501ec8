// Traces: OpenTelemetry, configured by the standard OTEL_* variables and off unless an OTLP
// endpoint is set. Herald's code sees only this small interface. While tracing is off nothing of
// the SDK is loaded (otel.ts is imported only when it is on) and the paths that would make spans
// check one boolean, `tracer.on`, before doing anything else.

export type SpanKindName = 'server' | 'client' | 'internal';
export type Attributes = Readonly<Record<string, string | number | boolean>>;

export interface Span {
  /** This span's W3C `traceparent`: what a request carries so its receiver continues the trace. */
  traceparent(): string;
  setAttributes(attributes: Attributes): void;
  /** Marks the span failed, with a short reason (never a secret). */
  fail(reason: string): void;
  end(): void;
}

export interface SpanOptions {
  readonly kind: SpanKindName;
  /**
   * The parent: an incoming or stored `traceparent`, a span of this process, or undefined for the
   * span active where this runs (see `within`), if any.
   */
  readonly parent?: string | Span | null | undefined;
  readonly attributes?: Attributes;
}

export interface Tracer {
  readonly on: boolean;
  start(name: string, options: SpanOptions): Span;
  /** Runs `work` with `span` active: spans started inside it (token requests) are its children. */
  within<T>(span: Span, work: () => T): T;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

const NO_SPAN: Span = {
  traceparent: () => '',
  setAttributes: () => {},
  fail: () => {},
  end: () => {},
};

/** Tracing off: every call does nothing (callers check `on` first and rarely get here). */
export const NO_TRACING: Tracer = {
  on: false,
  start: () => NO_SPAN,
  within: (_span, work) => work(),
  shutdown: async () => {},
};

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** The OTEL_* settings Herald reads itself (the SDK reads the rest, such as the sampler). */
export interface TracingConfig {
  /** Where spans go (the traces URL, `/v1/traces` included), or null: tracing off. */
  readonly tracesUrl: string | null;
  readonly protocol: OtlpProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
}

/** Starts tracing as configured: the SDK is loaded only when there is somewhere to send spans. */
export async function startTracing(config: TracingConfig, version: string): Promise<Tracer> {
  if (!config.tracesUrl) return NO_TRACING;
  const { otelTracer } = await import('./otel.js');
  return otelTracer({ ...config, tracesUrl: config.tracesUrl }, version);
}

/** A URL as a span may show it: no user name, password, query or fragment (they hold secrets). */
export function spanUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '';
  }
}
