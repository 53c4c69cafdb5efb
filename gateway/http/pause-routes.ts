/**
 * Pause and resume over HTTP (docs/gateway.md, "Pause and resume"): the sidecar of the actor whose handler
 * paused reports the pause (internal token); anyone with a client token who can see the envelope reads what
 * it waits for and resumes it. The rules are core/pause.ts's, shared with MCP elicitation.
 */
import type { JsonValue } from '../../protocol/json.ts';
import { PauseRequest, ResumeRequest, type PauseView } from '../../protocol/pause.ts';
import { canSee } from '../core/caller.ts';
import { envelopeJson, rfc3339 } from '../core/envelope-json.ts';
import { acceptPause, resumeEnvelope } from '../core/pause.ts';
import type { GatewayDeps } from '../deps.ts';
import type { PauseRecord } from '../store/index.ts';
import { HttpError, notFound, parseJsonBody, parseRequest } from './errors.ts';
import { checkPathId } from './ids.ts';
import { bodyText, readJson } from './request-body.ts';
import type { Routes } from './routes.ts';

export function pauseView(pause: PauseRecord): PauseView {
  return {
    envelope_id: pause.envelopeId,
    prompt: pause.prompt,
    actor: pause.actor,
    ...(pause.schema ? { schema: pause.schema } : {}),
    ...(pause.timeoutSeconds !== null ? { timeout_seconds: pause.timeoutSeconds } : {}),
    ...(pause.expiresAt ? { expires_at: rfc3339(pause.expiresAt) } : {}),
    has_default: pause.default !== null,
    ...(pause.default ? { default: pause.default.value } : {}),
    input_key: pause.inputKey,
    paused_at: rfc3339(pause.pausedAt),
  };
}

export function pauseRoutes(routes: Routes, deps: GatewayDeps): void {
  const { store } = deps;

  routes.post('/envelopes/:id/pause', 'internal', async (c) => {
    const id = checkPathId(c.req.param('id'));
    const result = await acceptPause(store, id, parseRequest(PauseRequest, readJson(c)), deps.options.pauseMaxMs);
    if (result.outcome === 'not_found') throw notFound();
    if (result.outcome === 'invalid') throw new HttpError(400, result.error);
    if (result.outcome === 'ignored') {
      throw new HttpError(409, `Envelope cannot pause: ${result.reason}`, { envelope_status: result.envelope.status });
    }
    return c.json({ status: result.outcome === 'repeat' ? 'already_paused' : 'paused', id });
  });

  routes.get('/envelopes/:id/pause', 'client', async (c) => {
    const id = checkPathId(c.req.param('id'));
    const envelope = await store.get(id);
    if (!envelope || !canSee(c.get('caller'), envelope)) throw notFound();
    const pause = await store.getPause(id);
    if (!pause) throw notFound('Pause');
    return c.json({ ...pauseView(pause), envelope_status: envelope.status });
  });

  routes.post('/envelopes/:id/resume', 'client', async (c) => {
    const id = checkPathId(c.req.param('id'));
    const envelope = await store.get(id);
    if (!envelope || !canSee(c.get('caller'), envelope)) throw notFound();
    const text = bodyText(c);
    const body = text.trim() === '' ? {} : parseRequest(ResumeRequest, parseJsonBody(text));
    const input = (body.input ?? null) as JsonValue;
    const result = await resumeEnvelope(deps, envelope, input, 'rest');
    if (result.outcome === 'not_found') throw notFound();
    if (result.outcome === 'invalid') throw new HttpError(400, result.error, { envelope_status: result.envelope.status });
    if (result.outcome === 'refused') {
      throw new HttpError(409, `Envelope cannot be resumed: ${result.reason}`, { envelope: envelopeJson(result.envelope) });
    }
    return c.json(envelopeJson(result.envelope));
  });
}
