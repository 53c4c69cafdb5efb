/**
 * MCP elicitation for paused envelopes (docs/gateway.md, "Pause and resume"). While a tool call or
 * tasks/result waits on a stream and its envelope pauses, a client that declared the elicitation capability
 * gets `elicitation/create` with the prompt and the answer's schema on that stream. The request id names the
 * envelope (`asya-elicit:<seq>:<envelope id>`), so whichever replica receives the client's answer can resume
 * the envelope from the store alone: accept resumes it with the answer (checked against the schema again);
 * decline and cancel leave it paused for a REST resume or its timeout.
 *
 * MCP restricts the requested schema to an object of flat, primitive properties; a pause whose schema is
 * richer is not elicited (the client resumes over REST), and one without a schema asks for an empty form,
 * an approval, whose answer is `{}`.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ElicitRequestFormParamsSchema, ElicitResultSchema, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { errorText } from '../../protocol/errors.ts';
import type { JsonObject, JsonValue } from '../../protocol/json.ts';
import { canSee, type Caller } from '../core/caller.ts';
import { resumeEnvelope } from '../core/pause.ts';
import type { GatewayDeps } from '../deps.ts';
import type { EnvelopeEvent } from '../store/index.ts';

const ID_PREFIX = 'asya-elicit:';
const EMPTY_FORM = { type: 'object', properties: {} } as const;

/** The schema an MCP client can show as a form, or undefined when MCP cannot carry it. */
export function elicitationSchema(schema: JsonObject | null): JsonObject | undefined {
  if (!schema) return EMPTY_FORM;
  return ElicitRequestFormParamsSchema.shape.requestedSchema.safeParse(schema).success ? schema : undefined;
}

export function elicitationRequestId(envelopeId: string, seq: number): string {
  return `${ID_PREFIX}${seq}:${envelopeId}`;
}

function envelopeOfRequestId(id: unknown): string | undefined {
  if (typeof id !== 'string' || !id.startsWith(ID_PREFIX)) return undefined;
  const rest = id.slice(ID_PREFIX.length);
  const colon = rest.indexOf(':');
  return colon > 0 ? rest.slice(colon + 1) : undefined;
}

/** True for a JSON-RPC answer to one of our elicitations. */
export function isElicitationAnswer(message: Record<string, unknown>): boolean {
  return message.method === undefined && ('result' in message || 'error' in message) && envelopeOfRequestId(message.id) !== undefined;
}

/**
 * Follows a waiting call's events and elicits each pause once, while the envelope is still paused on it.
 * Returns the listener to chain into the wait's onEvent.
 */
export function elicitPauses(server: Server, deps: GatewayDeps, relatedRequestId: RequestId, enabled: boolean): (event: EnvelopeEvent) => void {
  const asked = new Set<number>();
  let latestPause = -1;
  return (event) => {
    if (!enabled) return;
    if (event.envelopeState === 'resumed' || event.status !== 'paused') {
      if (event.envelopeState === 'resumed') latestPause = -1;
      return;
    }
    if (event.envelopeState !== 'paused' || asked.has(event.seq)) return;
    asked.add(event.seq);
    latestPause = event.seq;
    void (async () => {
      const [envelope, pause] = await Promise.all([deps.store.get(event.envelopeId), deps.store.getPause(event.envelopeId)]);
      // A pause replayed from the history that was answered since: nothing to ask.
      if (envelope?.status !== 'paused' || !pause || latestPause !== event.seq) return;
      const requestedSchema = elicitationSchema(pause.schema);
      if (!requestedSchema) {
        deps.log.info(`${event.envelopeId}: pause schema is richer than MCP elicitation allows; resume it over REST`);
        return;
      }
      await server.transport?.send(
        {
          jsonrpc: '2.0',
          id: elicitationRequestId(event.envelopeId, event.seq),
          method: 'elicitation/create',
          params: { mode: 'form', message: pause.prompt, requestedSchema },
        },
        { relatedRequestId },
      );
    })().catch((err: unknown) => deps.log.warn(`${event.envelopeId}: could not elicit the pause: ${errorText(err)}`));
  };
}

/** Takes a client's answer to an elicitation: accept resumes the envelope; anything else leaves it paused. */
export async function takeElicitationAnswer(deps: GatewayDeps, message: Record<string, unknown>, caller: Caller | undefined): Promise<void> {
  const id = envelopeOfRequestId(message.id)!;
  const answer = ElicitResultSchema.safeParse(message.result);
  if (!answer.success) {
    deps.log.info(`${id}: the MCP client answered the elicitation with an error or nothing usable; the envelope stays paused`);
    return;
  }
  if (answer.data.action !== 'accept') {
    deps.log.info(`${id}: the MCP client chose ${answer.data.action}; the envelope stays paused`);
    return;
  }
  const envelope = await deps.store.get(id);
  if (!envelope || !canSee(caller, envelope)) return;
  const result = await resumeEnvelope(deps, envelope, (answer.data.content ?? {}) as JsonValue, 'mcp elicitation');
  if (result.outcome !== 'resumed') {
    deps.log.info(`${id}: elicitation answer not taken: ${'error' in result ? result.error : 'reason' in result ? result.reason : result.outcome}`);
  }
}
