/**
 * An OTLP/HTTP trace receiver inside a test: a small HTTP server taking `POST /v1/traces` in the OTLP JSON
 * encoding (what the components' exporter sends) and keeping every span, flattened, with its service name.
 */
import { createServer, type Server } from 'node:http';

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  events: Array<{ name: string; attributes: Record<string, string | number | boolean> }>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, string | number | boolean> }>;
  startNs: bigint;
  endNs: bigint;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
type OtlpAttributes = Array<{ key: string; value: OtlpValue }> | undefined;

function attributesOf(list: OtlpAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue ?? '';
  }
  return out;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttributes;
  status?: { code?: number };
  events?: Array<{ name: string; attributes?: OtlpAttributes }>;
  links?: Array<{ traceId: string; spanId: string; attributes?: OtlpAttributes }>;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
}
interface OtlpRequest {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpAttributes }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

export function flattenOtlp(request: OtlpRequest): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resource) => {
    const service = String(attributesOf(resource.resource?.attributes)['service.name'] ?? '');
    return (resource.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((s) => ({
        service,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: s.kind,
        attributes: attributesOf(s.attributes),
        statusCode: s.status?.code ?? 0,
        events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
        links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attributesOf(l.attributes) })),
        startNs: BigInt(s.startTimeUnixNano ?? 0),
        endNs: BigInt(s.endTimeUnixNano ?? 0),
      })),
    );
  });
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Requests that were not OTLP JSON (a failing test shows them). */
  readonly refused: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const refused: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        refused.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        res.writeHead(415).end();
        return;
      }
      try {
        spans.push(...flattenOtlp(JSON.parse(body) as OtlpRequest));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        refused.push(`unreadable body: ${String(err)}`);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A trace as an indented tree, one span a line: `name [service]`, `ERROR <code>` when failed, `linked` when
 * it links to another span; siblings by name, then by start. `durations` adds each span's milliseconds.
 */
export function traceTree(spans: ReceivedSpan[], options: { durations?: boolean } = {}): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, ReceivedSpan[]>();
  for (const span of spans) {
    const parent = ids.has(span.parentSpanId) ? span.parentSpanId : '';
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const order = (a: ReceivedSpan, b: ReceivedSpan) => a.name.localeCompare(b.name) || (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0);
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    for (const span of (children.get(parent) ?? []).sort(order)) {
      const failed = span.statusCode === 2 ? ` ERROR ${span.attributes['error.type'] ?? ''}` : '';
      const linked = span.links.length > 0 ? ' linked' : '';
      const ms = options.durations ? ` ${(Number(span.endNs - span.startNs) / 1e6).toFixed(1)} ms` : '';
      lines.push(`${'  '.repeat(depth)}${span.name} [${span.service}]${failed}${linked}${ms}`);
      walk(span.spanId, depth + 1);
    }
  };
  walk('', 0);
  return lines.join('\n');
}
