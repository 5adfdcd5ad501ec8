// An OTLP/HTTP trace receiver on loopback (node:http), as a collector would be: it takes
// `POST /v1/traces` as JSON or protobuf and keeps the spans, decoded into one plain shape. The
// protobuf is read with a small reader of the wire format and the field numbers of
// opentelemetry/proto/trace/v1/trace.proto, so the test checks what went over the wire.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client (SpanKind). */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** 2 = error (Status.code). */
  readonly statusCode: number;
  readonly serviceName: string;
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Content types of the export requests received. */
  readonly contentTypes: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const type = req.headers['content-type'] ?? '';
      contentTypes.push(type);
      if (req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      try {
        spans.push(...(type.includes('json') ? fromJson(body) : fromProtobuf(body)));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': type.includes('json') ? 'application/json' : type });
      res.end(type.includes('json') ? '{}' : Buffer.alloc(0));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- JSON (OTLP/JSON: ids as hex strings, attributes as {key, value: {stringValue|...}}) ----

interface JsonValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value: JsonValue;
}

function jsonAttributes(
  list: JsonKeyValue[] | undefined,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value.boolValue ??
      value.doubleValue ??
      '';
  }
  return out;
}

function fromJson(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString('utf8')) as {
    resourceSpans: Array<{
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans: Array<{
        spans: Array<{
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind: number;
          attributes?: JsonKeyValue[];
          status?: { code?: number };
        }>;
      }>;
    }>;
  };
  return request.resourceSpans.flatMap((rs) => {
    const serviceName = String(jsonAttributes(rs.resource?.attributes)['service.name'] ?? '');
    return rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: s.kind,
        attributes: jsonAttributes(s.attributes),
        statusCode: s.status?.code ?? 0,
        serviceName,
      })),
    );
  });
}

// ---- protobuf: the wire format, then the trace.proto field numbers ----

type Field = { readonly no: number; readonly varint?: bigint; readonly bytes?: Buffer };

/** The fields of one message, in order (varints as bigint, length-delimited as bytes). */
function fields(buffer: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buffer[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < buffer.length) {
    const key = Number(varint());
    const no = key >>> 3;
    switch (key & 7) {
      case 0:
        out.push({ no, varint: varint() });
        break;
      case 1:
        out.push({ no, bytes: buffer.subarray(at, at + 8) });
        at += 8;
        break;
      case 2: {
        const length = Number(varint());
        out.push({ no, bytes: buffer.subarray(at, at + length) });
        at += length;
        break;
      }
      case 5:
        out.push({ no, bytes: buffer.subarray(at, at + 4) });
        at += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${key & 7}`);
    }
  }
  return out;
}

const all = (message: Field[], no: number): Buffer[] =>
  message.filter((f) => f.no === no && f.bytes).map((f) => f.bytes!);
const one = (message: Field[], no: number): Buffer | undefined => all(message, no)[0];

function protoAttributes(message: Field[], no: number): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of all(message, no)) {
    const pair = fields(kv);
    const key = one(pair, 1)?.toString('utf8') ?? '';
    const value = fields(one(pair, 2) ?? Buffer.alloc(0));
    const v = value[0];
    if (!v) continue;
    // AnyValue: 1 string, 2 bool, 3 int64, 4 double.
    out[key] =
      v.no === 1
        ? v.bytes!.toString('utf8')
        : v.no === 2
          ? v.varint === 1n
          : v.no === 3
            ? Number(BigInt.asIntN(64, v.varint!))
            : v.bytes!.readDoubleLE(0);
  }
  return out;
}

function fromProtobuf(body: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  // ExportTraceServiceRequest.resource_spans = 1
  for (const rs of all(fields(body), 1)) {
    const resourceSpans = fields(rs);
    // ResourceSpans.resource = 1 (Resource.attributes = 1), scope_spans = 2
    const resource = fields(one(resourceSpans, 1) ?? Buffer.alloc(0));
    const serviceName = String(protoAttributes(resource, 1)['service.name'] ?? '');
    for (const ss of all(resourceSpans, 2)) {
      // ScopeSpans.spans = 2
      for (const raw of all(fields(ss), 2)) {
        const span = fields(raw);
        const status = fields(one(span, 15) ?? Buffer.alloc(0));
        out.push({
          traceId: one(span, 1)?.toString('hex') ?? '',
          spanId: one(span, 2)?.toString('hex') ?? '',
          parentSpanId: one(span, 4)?.toString('hex') ?? '',
          name: one(span, 5)?.toString('utf8') ?? '',
          kind: Number(span.find((f) => f.no === 6)?.varint ?? 0n),
          attributes: protoAttributes(span, 9),
          statusCode: Number(status.find((f) => f.no === 3)?.varint ?? 0n),
          serviceName,
        });
      }
    }
  }
  return out;
}
