/**
 * MCP tasks (protocol 2025-11-25) backed by the envelope store: a task is an envelope and its id is the
 * envelope id, so any replica answers for any task, and a task outlives the session that started it.
 * Listing shows tool-call envelopes (not fan-out children), newest first, with the store's cursor. A caller
 * with a named client token lists and reaches only its own tasks.
 */
import { MAX_ENVELOPE_ID_LENGTH } from '../../protocol/envelope.ts';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CancelTaskRequestSchema,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  ListTasksRequestSchema,
  RELATED_TASK_META_KEY,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import type { GatewayDeps } from '../deps.ts';
import { canSee, ownerScope, type Caller } from '../core/caller.ts';
import { rpcError } from './params.ts';
import { InvalidEnvelopeInputError, type EnvelopeRecord } from '../store/index.ts';
import { finalResult } from '../core/results.ts';
import { waitForFinal } from '../core/wait-final.ts';
import { elicitPauses } from './elicit.ts';

export function taskFor(e: EnvelopeRecord, deps: GatewayDeps): Task {
  const status: Task['status'] =
    e.status === 'succeeded'
      ? 'completed'
      : e.status === 'failed'
        ? e.cancelled
          ? 'cancelled'
          : 'failed'
        : e.status === 'paused'
          ? 'input_required'
          : 'working';
  const retention = deps.options.retentionMs ?? 0;
  const statusMessage = e.status === 'failed' ? (e.error ?? e.message) : e.message;
  return {
    taskId: e.id,
    status,
    ttl: retention > 0 ? retention : null,
    createdAt: e.createdAt.toISOString(),
    lastUpdatedAt: e.updatedAt.toISOString(),
    pollInterval: deps.options.taskPollIntervalMs ?? 1000,
    ...(statusMessage ? { statusMessage } : {}),
  };
}

/** Another named client's task is as unknown to this caller as one that never existed. */
async function envelopeOf(deps: GatewayDeps, taskId: string, caller: Caller | undefined): Promise<EnvelopeRecord> {
  const envelope = taskId && !taskId.includes('\u0000') && taskId.length <= MAX_ENVELOPE_ID_LENGTH ? await deps.store.get(taskId) : undefined;
  if (!envelope || !canSee(caller, envelope)) throw rpcError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
  return envelope;
}

export function registerTaskHandlers(server: Server, deps: GatewayDeps, signal: AbortSignal, caller: Caller | undefined, elicits = false): void {
  server.setRequestHandler(GetTaskRequestSchema, async (request) => taskFor(await envelopeOf(deps, request.params.taskId, caller), deps));

  server.setRequestHandler(GetTaskPayloadRequestSchema, async (request, extra) => {
    const { taskId } = request.params;
    await envelopeOf(deps, taskId, caller);
    // A paused task is input_required: its result stream is where the client is asked (elicit.ts).
    const onEvent = elicitPauses(server, deps, extra.requestId, elicits);
    const envelope = await waitForFinal(deps.store, taskId, { onEvent, signal: AbortSignal.any([signal, extra.signal]) });
    const result = await finalResult(envelope, deps.payloads);
    return { ...result, _meta: { [RELATED_TASK_META_KEY]: { taskId } } };
  });

  server.setRequestHandler(ListTasksRequestSchema, async (request) => {
    try {
      const cursor = request.params?.cursor;
      const owner = ownerScope(caller);
      const page = await deps.store.list({ rootsOnly: true, limit: 50, ...(cursor ? { cursor } : {}), ...(owner !== undefined ? { owner } : {}) });
      return { tasks: page.items.map((e) => taskFor(e, deps)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    } catch (err) {
      if (err instanceof InvalidEnvelopeInputError) throw rpcError(ErrorCode.InvalidParams, `Invalid cursor: ${err.message}`);
      throw err;
    }
  });

  server.setRequestHandler(CancelTaskRequestSchema, async (request) => {
    const { taskId } = request.params;
    await envelopeOf(deps, taskId, caller);
    const result = await deps.store.cancel(taskId, 'cancelled by the MCP client');
    if (result.outcome === 'not_found') throw rpcError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    if (result.outcome === 'ignored') {
      throw rpcError(ErrorCode.InvalidParams, `Cannot cancel task in terminal status: ${taskFor(result.envelope, deps).status}`);
    }
    return taskFor(result.envelope, deps);
  });
}
