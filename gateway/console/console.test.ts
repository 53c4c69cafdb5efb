/**
 * The console's server side on PostgreSQL: the static files and their headers, the token on every data
 * endpoint, ASYA_GATEWAY_UI=false, the id-prefix search and paging on the migration 011 indexes, the live
 * feed of every envelope's updates (and a named client's share of it), and the DLQ endpoints' refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse, startTestGateway, testSchema, waitUntil, type TestGateway } from '../../test/support/gateway-harness.ts';
import type { TestSchema } from '../../test/support/postgres.ts';
import postgres from 'postgres';

const API = 'api-token-console';
const INTERNAL = 'internal-token-console';
const auth = { authorization: `Bearer ${API}` };

describe('console endpoints', () => {
  let schema: TestSchema;
  let gw: TestGateway;
  let off: TestGateway;

  beforeAll(async () => {
    schema = await testSchema('console');
    gw = await startTestGateway({ schema, tools: 'tools:\n- name: echo\n  route: [echo]\n  parameters:\n    text: {type: string, required: true}\n', config: { apiToken: API, internalToken: INTERNAL, clientTokens: { alice: 'alice-token' }, traceUrl: 'http://traces.example/trace/{trace_id}' } });
    off = await startTestGateway({ schema, config: { apiToken: API, internalToken: INTERNAL, ui: false } });
  });
  afterAll(async () => {
    await off?.stop();
    await gw?.stop();
    await schema?.drop();
  });

  it('serves the console files without a token, with a same-origin content security policy', async () => {
    const index = await fetch(`${gw.url}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('<script type="module" src="app.js">');
    const script = await fetch(`${gw.url}/ui/views/envelopes.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${gw.url}/ui`, { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
  });

  it('answers 404 for files outside the folder or of unknown kinds', async () => {
    for (const path of ['/ui/%2e%2e/console/routes.ts', '/ui/..%2fsettings.ts', '/ui/tsconfig.json', '/ui/nothing.js', '/ui/%E0%A4%A']) {
      expect((await fetch(`${gw.url}${path}`)).status, path).toBe(404);
    }
  });

  it('needs the client token for every data endpoint, and refuses the internal one', async () => {
    for (const path of ['/console/api/config', '/console/api/tools', '/console/api/actors', '/console/api/dlq', '/console/api/updates']) {
      expect((await fetch(`${gw.url}${path}`)).status, path).toBe(401);
      expect((await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${INTERNAL}` } })).status, path).toBe(401);
    }
    const config = await (await fetch(`${gw.url}/console/api/config`, { headers: auth })).json();
    expect(config).toEqual({ trace_url: 'http://traces.example/trace/{trace_id}', dlq: null, actors: false, sees_all: true });
    const named = await (await fetch(`${gw.url}/console/api/config`, { headers: { authorization: 'Bearer alice-token' } })).json();
    expect(named).toMatchObject({ sees_all: false });
    const tools = (await (await fetch(`${gw.url}/console/api/tools`, { headers: auth })).json()) as { tools: unknown[] };
    expect(tools.tools).toEqual([{ name: 'echo', input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } }]);
  });

  it('says what it cannot show: no actors and no DLQ known to a bare gateway', async () => {
    const actors = (await (await fetch(`${gw.url}/console/api/actors`, { headers: auth })).json()) as { note: string };
    expect(actors).toMatchObject({ available: false, actors: [] });
    expect(actors.note).toMatch(/asya dev/);
    const dlq = await fetch(`${gw.url}/console/api/dlq`, { headers: auth });
    expect(dlq.status).toBe(404);
    expect((await fetch(`${gw.url}/console/api/dlq`, { headers: { authorization: 'Bearer alice-token' } })).status).toBe(403);
  });

  it('with ASYA_GATEWAY_UI=false serves neither the files nor the console endpoints', async () => {
    expect((await fetch(`${off.url}/ui/`)).status).toBe(404);
    expect((await fetch(`${off.url}/console/api/config`, { headers: auth })).status).toBe(404);
    // The REST API is unaffected.
    expect((await fetch(`${off.url}/envelopes`, { headers: auth })).status).toBe(200);
  });

  it('searches by id prefix, with LIKE wildcards taken literally, and pages through the result', async () => {
    for (let i = 0; i < 5; i++) await gw.store.create({ id: `srch-${i}`, actors: ['a'], payload: {} });
    await gw.store.create({ id: 'srch_x', actors: ['a'], payload: {} });
    await gw.store.create({ id: 'srchz%', actors: ['a'], payload: {} });
    const ids = async (query: string) => ((await (await fetch(`${gw.url}/envelopes?${query}`, { headers: auth })).json()) as { envelopes: Array<{ id: string }>; next_cursor?: string });
    expect((await ids('id=srch-')).envelopes.map((e) => e.id).sort()).toEqual(['srch-0', 'srch-1', 'srch-2', 'srch-3', 'srch-4']);
    expect((await ids('id=srch_')).envelopes.map((e) => e.id)).toEqual(['srch_x']);
    expect((await ids('id=srchz%25')).envelopes.map((e) => e.id)).toEqual(['srchz%']);
    const first = await ids('id=srch-&limit=2');
    const second = await ids(`id=srch-&limit=2&cursor=${encodeURIComponent(first.next_cursor!)}`);
    const third = await ids(`id=srch-&limit=2&cursor=${encodeURIComponent(second.next_cursor!)}`);
    expect([...first.envelopes, ...second.envelopes, ...third.envelopes].map((e) => e.id).sort()).toEqual(['srch-0', 'srch-1', 'srch-2', 'srch-3', 'srch-4']);
    expect(third.next_cursor).toBeUndefined();
    const tooLong = await fetch(`${gw.url}/envelopes?id=${'x'.repeat(201)}`, { headers: auth });
    expect(tooLong.status).toBe(400);
  });

  it('plans the list on the migration 011 indexes', async () => {
    const sql = postgres(schema.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`set search_path to ${schema.name}`);
      const indexes = (await sql`select indexname from pg_indexes where schemaname = ${schema.name}`).map((r) => r.indexname);
      expect(indexes).toEqual(expect.arrayContaining(['idx_envelopes_list', 'idx_envelopes_status_list', 'idx_envelopes_id_prefix']));
      await sql`set enable_seqscan = off`;
      const plan = (await sql.unsafe(`explain select id from envelopes where status in ('failed') order by created_at desc, id desc limit 51`)).map((r) => String(r['QUERY PLAN'])).join('\n');
      expect(plan).toMatch(/idx_envelopes_status_list/);
      const search = (await sql.unsafe(`explain select id from envelopes where id like 'srch-%' order by created_at desc, id desc limit 51`)).map((r) => String(r['QUERY PLAN'])).join('\n');
      expect(search).toMatch(/idx_envelopes_id_prefix|idx_envelopes_list|envelopes_pkey/);
    } finally {
      await sql.end();
    }
  });

  it('feeds every envelope\'s updates live as list rows, never a payload or result, and a named client only its own', async () => {
    // The feed starts at the present: its response (onOpen) comes once its subscription is live.
    let opened = 0;
    const open = () => void opened++;
    const admin = readSse(`${gw.url}/console/api/updates`, { headers: auth, until: (r) => r.events.length >= 4, timeoutMs: 20_000, onOpen: open });
    const alice = readSse(`${gw.url}/console/api/updates`, { headers: { authorization: 'Bearer alice-token' }, until: (r) => r.events.length >= 2, timeoutMs: 20_000, onOpen: open });
    await waitUntil(() => opened === 2, 10_000, 'both feeds open');
    const bob = await gw.store.create({ id: 'feed-bob', actors: ['a', 'b'], payload: { big: 'p'.repeat(50_000) }, owner: 'bob', toolName: 'echo' });
    const own = await gw.store.create({ id: 'feed-alice', actors: ['a'], payload: {}, owner: 'alice' });
    await gw.store.appendProgress('feed-bob', { actorState: 'completed', currentActorIdx: 1, actors: ['a', 'b'] });
    await gw.store.setFinal('feed-alice', { status: 'failed', result: { big: 'r'.repeat(50_000) }, error: 'e'.repeat(10_000) });
    const [all, mine] = await Promise.all([admin, alice]);
    const rows = all.events.map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(rows.map((r) => `${r.id} ${r.status}`)).toEqual(['feed-bob pending', 'feed-alice pending', 'feed-bob running', 'feed-alice failed']);
    expect(all.events.every((e) => e.event === 'update' && /^\d+$/.test(e.id ?? ''))).toBe(true);
    expect(rows[0]).toMatchObject({ id: 'feed-bob', status: 'pending', tool_name: 'echo', current_actor: 'a' });
    expect(Date.parse(String(rows[0]!.created_at))).toBe(bob.createdAt.getTime());
    expect(rows[2]).toMatchObject({ id: 'feed-bob', status: 'running', tool_name: 'echo', current_actor: 'b', current_actor_idx: 1 });
    expect(rows[3]).toMatchObject({ id: 'feed-alice', status: 'failed', created_at: expect.stringMatching(/^\d{4}-/), updated_at: expect.stringMatching(/^\d{4}-/) });
    expect(Date.parse(String(rows[3]!.created_at))).toBe(own.createdAt.getTime());
    for (const row of rows) for (const key of ['payload', 'result', 'error', 'message']) expect(row, key).not.toHaveProperty(key);
    expect(all.events.every((e) => e.data.length < 1000)).toBe(true);
    expect(mine.events.map((e) => JSON.parse(e.data).id)).toEqual(['feed-alice', 'feed-alice']);
  });

  it("shows a fan-out child whose own progress came before its registration under its parent, and to the parent's owner", async () => {
    const [parent, child] = ['feed-late-parent', 'feed-late-parent-0'];
    const childRows = (r: { events: Array<{ data: string }> }) => r.events.map((e) => JSON.parse(e.data) as Record<string, unknown>).filter((row) => row.id === child);
    const settled = (r: { events: Array<{ data: string }> }) => childRows(r).some((row) => row.status === 'succeeded');
    let opened = 0;
    const open = () => void opened++;
    const admin = readSse(`${gw.url}/console/api/updates`, { headers: auth, until: settled, timeoutMs: 20_000, onOpen: open });
    const alice = readSse(`${gw.url}/console/api/updates`, { headers: { authorization: 'Bearer alice-token' }, until: settled, timeoutMs: 20_000, onOpen: open });
    await waitUntil(() => opened === 2, 10_000, 'both feeds open');
    await gw.store.create({ id: parent, actors: ['split', 'work'], payload: null, owner: 'alice', toolName: 'echo' });
    // The child's first report creates it as a top-level envelope of nobody's, as the progress route does.
    await gw.store.create({ id: child, actors: ['split', 'work'], payload: null, routeCurrent: 1 });
    await gw.store.appendProgress(child, { actorState: 'received', currentActorIdx: 1 });
    await gw.store.registerChild({ id: child, parentId: parent, index: 0, fanoutSize: 1, actors: ['split', 'work'] });
    await gw.store.setFinal(child, { status: 'succeeded', result: 1 });
    const [all, mine] = await Promise.all([admin, alice]);
    const rows = childRows(all);
    expect(rows[0]).not.toHaveProperty('parent_id');
    expect(rows.at(-1)).toMatchObject({ status: 'succeeded', parent_id: parent });
    // Before the link the child was nobody's; from the link on it is alice's, as its parent.
    expect(childRows(mine).at(-1)).toMatchObject({ status: 'succeeded', parent_id: parent });
  });
});
