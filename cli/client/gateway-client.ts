/**
 * What the client commands need from a gateway: tool calls and envelope reads over REST, live updates over
 * SSE, and the tool list over MCP (the only place the gateway publishes input schemas). Every failure is a
 * CliError carrying its exit code, and names the gateway URL it tried.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CliError, EXIT } from './exit-codes.ts';
import { readSseEvents } from './sse.ts';

/** Where `asya dev` serves the gateway unless told otherwise. */
export const DEV_GATEWAY_URL = 'http://127.0.0.1:8089';

export interface ToolInfo {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
}

/** The part of a tool's JSON Schema the CLI reads (gateway/tools/json-schema.ts writes it). */
export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  items?: JsonSchema;
}

/** GET /envelopes/{id} and SSE updates share these fields (gateway/http/envelope-json.ts). */
export interface EnvelopeUpdate {
  id: string;
  status: string;
  progress_percent?: number;
  actor?: string;
  current_actor_name?: string;
  message?: string;
  result?: unknown;
  error?: string;
  envelope_state?: string;
  /** A report from a step behind the progress already reached (history, not progress). */
  late?: boolean;
  [key: string]: unknown;
}

export const FINAL_STATUSES = new Set(['succeeded', 'failed']);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/**
 * Why a request got no answer at all: a network error code in the cause chain (fetch wraps it in
 * "fetch failed"), or the reason fetch gave for refusing to connect (e.g. "bad port").
 */
function networkFailure(err: unknown): string | undefined {
  let fetchFailed = false;
  for (let e = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if ((e as Error).name === 'TimeoutError') return 'timed out';
    if (fetchFailed && e instanceof Error) return e.message;
    fetchFailed = e instanceof TypeError && e.message === 'fetch failed';
  }
  return fetchFailed ? 'fetch failed' : undefined;
}

export class GatewayClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly token?: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  unreachable(err: unknown): CliError | undefined {
    const reason = networkFailure(err);
    if (!reason) return undefined;
    return new CliError(EXIT.unreachable, `cannot reach the gateway at ${this.url} (${reason}). Is it running? Start one with 'asya dev <dir>', or point --gateway / ASYA_GATEWAY_URL at it.`);
  }

  private async fetch(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, {
        ...init,
        headers: this.headers(init.headers as Record<string, string> | undefined),
        signal: signal ?? AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(err) ?? err;
    }
  }

  /** The gateway's `{"error": ...}` message, or the start of whatever else answered. */
  private async errorMessage(res: Response): Promise<string> {
    const text = await res.text().catch(() => '');
    try {
      return (JSON.parse(text) as { error?: string }).error ?? text.slice(0, 500);
    } catch {
      // Not JSON (a proxy's page): the text itself is the best explanation.
      return text.slice(0, 500);
    }
  }

  private async refusal(res: Response, what: string, message?: string): Promise<CliError> {
    const detail = message ?? (await this.errorMessage(res));
    if (res.status === 401 || res.status === 403) {
      return new CliError(EXIT.gatewayError, `the gateway at ${this.url} refused ${what}: ${detail} (pass --token, or set ASYA_GATEWAY_API_TOKEN)`);
    }
    return new CliError(EXIT.gatewayError, `the gateway at ${this.url} answered ${res.status} to ${what}: ${detail}`);
  }

  /** POST /tools/call; the id of the envelope the gateway queued. */
  async callTool(name: string, args: Record<string, unknown>): Promise<string> {
    const res = await this.fetch('/tools/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, arguments: args }),
    });
    if (res.status === 404) {
      // Only the gateway's own 404 means "no such tool"; any other is a URL that is not a gateway.
      const message = await this.errorMessage(res);
      if (/^Tool ".*" not found$/.test(message)) throw new CliError(EXIT.notFound, `the gateway at ${this.url} has no tool "${name}" (asya tools lists them)`);
      throw await this.refusal(res, 'POST /tools/call (is this an Asya gateway?)', message);
    }
    if (!res.ok) throw await this.refusal(res, `the call to ${name}`);
    const body = (await res.json()) as { content?: Array<{ text?: string }>; isError?: boolean };
    const text = body.content?.map((c) => c.text ?? '').join('\n') ?? '';
    if (body.isError) {
      // The gateway answers both a bad argument and a refused publish as isError; only the latter is its fault.
      if (text.startsWith('failed to send envelope')) throw new CliError(EXIT.gatewayError, `the gateway could not queue the call: ${text}`);
      throw new CliError(EXIT.usage, `the gateway refused the arguments of ${name}: ${text}`);
    }
    const id = (JSON.parse(text) as { envelope_id?: unknown }).envelope_id;
    if (typeof id !== 'string') throw new CliError(EXIT.gatewayError, `the gateway at ${this.url} answered without an envelope id: ${text}`);
    return id;
  }

  async envelope(id: string): Promise<EnvelopeUpdate> {
    const res = await this.fetch(`/envelopes/${encodeURIComponent(id)}`);
    if (res.status === 404) throw new CliError(EXIT.notFound, `the gateway at ${this.url} has no envelope ${id}`);
    if (res.status === 400) throw new CliError(EXIT.usage, `${JSON.stringify(id)} is not an envelope id: ${((await res.json()) as { error?: string }).error}`);
    if (!res.ok) throw await this.refusal(res, `reading envelope ${id}`);
    return (await res.json()) as EnvelopeUpdate;
  }

  /**
   * Updates of one envelope until it is final. The gateway closes a stream after the final update, and a
   * stream cut short (gateway restart) is resumed from the last event id.
   */
  async *updates(id: string, signal: AbortSignal): AsyncGenerator<EnvelopeUpdate> {
    let lastEventId: string | undefined;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetch(`/envelopes/${encodeURIComponent(id)}/stream`, { headers: lastEventId ? { 'last-event-id': lastEventId } : {} }, signal);
      } catch (err) {
        if (attempt < 5 && err instanceof CliError && err.exitCode === EXIT.unreachable) {
          await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
          continue;
        }
        throw err;
      }
      if (res.status === 404) throw new CliError(EXIT.notFound, `the gateway at ${this.url} has no envelope ${id}`);
      if (!res.ok || !res.body) throw await this.refusal(res, `the stream of envelope ${id}`);
      try {
        for await (const event of readSseEvents(res.body)) {
          if (event.id) lastEventId = event.id;
          const update = JSON.parse(event.data) as EnvelopeUpdate;
          yield update;
          if (FINAL_STATUSES.has(update.status) && update.envelope_state !== 'replayed') return;
        }
      } catch (err) {
        if (signal.aborted) throw err;
        // A cut connection: fall through to the check below and resume.
      }
      const now = await this.envelope(id);
      if (FINAL_STATUSES.has(now.status)) return yield now;
      // A stream that keeps ending early must not turn into a busy loop of reconnects.
      await new Promise((r) => setTimeout(r, Math.min(200 * (attempt + 1), 2000)));
    }
  }

  /** tools/list over MCP (Streamable HTTP), every page. */
  async listTools(): Promise<ToolInfo[]> {
    const client = new Client({ name: 'asya-cli', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${this.url}/mcp`), { requestInit: { headers: this.headers() } });
    try {
      await client.connect(transport);
      const tools: ToolInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {});
        tools.push(...(page.tools as ToolInfo[]));
        cursor = page.nextCursor;
      } while (cursor);
      return tools;
    } catch (err) {
      const unreachable = this.unreachable(err);
      if (unreachable) throw unreachable;
      if (err instanceof StreamableHTTPError && (err.code === 401 || err.code === 403)) {
        throw new CliError(EXIT.gatewayError, `the gateway at ${this.url} refused the tool list: ${err.message} (pass --token, or set ASYA_GATEWAY_API_TOKEN)`);
      }
      if (err instanceof StreamableHTTPError) throw new CliError(EXIT.gatewayError, `the gateway at ${this.url} refused the tool list: ${err.message}`);
      throw err;
    } finally {
      await client.close().catch(() => {});
    }
  }
}

/**
 * --gateway, else ASYA_GATEWAY_URL, else where `asya dev` listens. --token, else ASYA_GATEWAY_API_TOKEN (the
 * gateway's client token), else ASYA_GATEWAY_TOKEN, so one exported token serves a dev shell either way.
 */
export function gatewayFrom(options: { gateway?: string; token?: string }, env: Record<string, string | undefined>): GatewayClient {
  const url = options.gateway || env.ASYA_GATEWAY_URL || DEV_GATEWAY_URL;
  if (!/^https?:\/\/[^/]/.test(url)) throw new CliError(EXIT.usage, `the gateway URL must start with http:// or https://, got ${JSON.stringify(url)}`);
  return new GatewayClient(url, options.token || env.ASYA_GATEWAY_API_TOKEN || env.ASYA_GATEWAY_TOKEN || undefined);
}
