// The OpenTelemetry side of tracing.ts, loaded only when tracing is on. Each Herald gets its own
// tracer provider, context manager and propagator (nothing is registered globally, so several
// Heralds in one process, as in tests, keep their spans apart). Spans are batched and exported
// over OTLP/HTTP, as protobuf (the standard's default) or JSON.

import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
  type Span as OtelSpan,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Span, SpanKindName, SpanOptions, Tracer, TracingConfig } from './tracing.js';

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
};

/** What our Span wraps: the SDK's span and the context it makes current. */
class Handle implements Span {
  constructor(
    readonly span: OtelSpan,
    readonly context: Context,
    private readonly propagator: W3CTraceContextPropagator,
  ) {}

  traceparent(): string {
    const carrier: Record<string, string> = {};
    this.propagator.inject(this.context, carrier, defaultTextMapSetter);
    return carrier.traceparent ?? '';
  }

  setAttributes(attributes: Readonly<Record<string, string | number | boolean>>): void {
    this.span.setAttributes(attributes);
  }

  fail(reason: string): void {
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  }

  end(): void {
    this.span.end();
  }
}

export function otelTracer(config: TracingConfig & { tracesUrl: string }, version: string): Tracer {
  const exporterConfig = { url: config.tracesUrl, headers: { ...config.headers } };
  const exporter =
    config.protocol === 'http/json'
      ? new JsonExporter(exporterConfig)
      : new ProtobufExporter(exporterConfig);
  const resource = resourceFromAttributes({
    'service.name': config.serviceName,
    'service.version': version,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('herald', version);
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();

  const parentContext = (parent: SpanOptions['parent']): Context => {
    if (parent instanceof Handle) return parent.context;
    if (parent === null) return ROOT_CONTEXT;
    if (typeof parent === 'string') {
      return parent === ''
        ? ROOT_CONTEXT
        : propagator.extract(ROOT_CONTEXT, { traceparent: parent }, defaultTextMapGetter);
    }
    return contexts.active();
  };

  return {
    on: true,
    start(name, options) {
      const parent = parentContext(options.parent);
      const span = tracer.startSpan(
        name,
        {
          kind: KINDS[options.kind],
          ...(options.attributes ? { attributes: options.attributes } : {}),
        },
        parent,
      );
      return new Handle(span, trace.setSpan(parent, span), propagator);
    },
    within(span, work) {
      return span instanceof Handle ? contexts.with(span.context, work) : work();
    },
    async shutdown() {
      await provider.shutdown();
      contexts.disable();
    },
  };
}
