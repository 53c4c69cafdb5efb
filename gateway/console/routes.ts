/**
 * The endpoints only the console reads, under /console/api, behind the client token like the REST API:
 * its settings, the tools with their input schemas, a live feed of every envelope's updates, the actors'
 * numbers and the dead-letter queue. Envelope reads, cancel and the tool call are the REST API's own routes.
 */
import { z } from 'zod';
import type { Context } from 'hono';
import { ownerScope, type Caller } from '../core/caller.ts';
import type { GatewayDeps } from '../deps.ts';
import { HttpError, parseRequest } from '../http/errors.ts';
import { readJson } from '../http/request-body.ts';
import type { Routes } from '../http/routes.ts';
import { updatesFeed } from './feed.ts';
import type { ConsoleSources, ReplaySteps } from './sources.ts';
import { errorText } from '../../protocol/errors.ts';

export interface ConsoleSettings {
  /** `{trace_id}` is replaced by the envelope's trace id. */
  traceUrl?: string | undefined;
}

const ReplayRequest = z.object({ ids: z.array(z.string().min(1).max(200)).min(1, { error: 'ids: give at least one id' }).max(1000) });

/** The DLQ holds every caller's envelopes: only a token that sees them all may read or replay it. */
function requireFullView(caller: Caller | undefined): void {
  if (ownerScope(caller) !== undefined) throw new HttpError(403, 'The dead-letter queue holds every caller\'s envelopes: it needs the shared or the admin token');
}

export function consoleRoutes(routes: Routes, deps: GatewayDeps, sources: ConsoleSources, settings: ConsoleSettings): void {
  const { store, tools } = deps;

  routes.get('/console/api/config', 'client', (c) =>
    c.json({
      trace_url: settings.traceUrl ?? null,
      dlq: sources.deadLetters ? { queue: sources.deadLetters.queue } : null,
      actors: sources.actors !== undefined || sources.actorsNote !== undefined,
      sees_all: ownerScope(c.get('caller')) === undefined,
    }),
  );

  routes.get('/console/api/tools', 'client', (c) =>
    c.json({ tools: tools.list().map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), input_schema: t.inputSchema })) }),
  );

  routes.get('/console/api/updates', 'client', (c: Context) => updatesFeed(c, deps));

  routes.get('/console/api/actors', 'client', async (c) => {
    if (!sources.actors) {
      return c.json({ available: false, note: sources.actorsNote ?? 'this gateway does not know its actors: run under asya dev, or read the sidecars\' metrics in a cluster', actors: [] });
    }
    return c.json({ available: true, ...(sources.actorsNote ? { note: sources.actorsNote } : {}), actors: await sources.actors() });
  });

  routes.get('/console/api/dlq', 'client', async (c) => {
    requireFullView(c.get('caller'));
    const source = sources.deadLetters;
    if (!source) throw new HttpError(404, 'No dead-letter queue is known to this gateway');
    return c.json({ queue: source.queue, letters: await source.list() });
  });

  routes.post('/console/api/dlq/replay', 'client', async (c) => {
    requireFullView(c.get('caller'));
    const source = sources.deadLetters;
    if (!source) throw new HttpError(404, 'No dead-letter queue is known to this gateway');
    const { ids } = parseRequest(ReplayRequest, readJson(c));
    // The same two steps as `asya dlq replay` with ASYA_GATEWAY_URL: reopen here, then publish; a publish
    // that fails after the reopen fails the envelope again, so nothing waits for a replay never sent.
    const steps: ReplaySteps = {
      async reopen(record, queue) {
        const result = await store.reopen(record.id, { reason: `replayed from ${queue} in the console` });
        if (result.outcome === 'applied') return { reopened: true };
        if (result.outcome === 'refused') return { reopened: false, warning: `the gateway did not reopen ${record.id} (${result.reason}); replayed anyway, its status here will not change` };
        return { reopened: false, warning: `the gateway does not know ${record.id}; replayed anyway` };
      },
      async refail(record, reason) {
        await store.setFinal(record.id, { status: 'failed', error: `replay was not sent: ${reason}` }).catch((e: unknown) =>
          deps.log.warn(`${record.id} stays running (marking it failed again did not work: ${errorText(e)})`),
        );
      },
    };
    const outcomes = await source.replay(ids, steps);
    return c.json({ outcomes });
  });
}
