/**
 * The protocol conformance suite. Both runtimes run it over a real Unix socket (runtime/node.test.ts,
 * runtime/python.test.ts), once with a connection per request (the original protocol) and once with
 * keep-alive through the sidecar's client; runtime/runtimes-agree.test.ts checks they answer the same
 * requests alike.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixtureHandler, startRuntime, type RuntimeKind, type RuntimeProcess } from '../test/support/runtime-process.ts';
import { fixtureGate, type FixtureGate } from '../test/support/gated-handler.ts';
import { accepts, CONNECTION_MODES, runtimeCaller, sendRaw, type ConnectionMode } from '../test/support/socket-client.ts';

type Response = Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- wire JSON under test

const route = (actors = ['a', 'b'], current = 0) => ({ actors, current });
const env = (payload: unknown, extra: Record<string, unknown> = {}) => ({ id: 'e-1', route: route(), payload, ...extra });

/** Starts one runtime per fixture lazily and stops them all after the suite. */
function runtimePool(kind: RuntimeKind) {
  const started = new Map<string, Promise<RuntimeProcess>>();
  return {
    get(fixture: string, extraEnv: Record<string, string> = {}): Promise<RuntimeProcess> {
      const key = `${fixture} ${JSON.stringify(extraEnv)}`;
      if (!started.has(key)) started.set(key, startRuntime(kind, { handler: fixtureHandler(kind, fixture), env: extraEnv }));
      return started.get(key)!;
    },
    async stopAll() {
      await Promise.all([...started.values()].map(async (p) => (await p).stop()));
    },
  };
}

export function runtimeConformance(kind: RuntimeKind): void {
  for (const mode of CONNECTION_MODES) conformance(kind, mode);
}

function conformance(kind: RuntimeKind, mode: ConnectionMode): void {
  describe(`${kind} runtime: protocol conformance (${mode})`, () => {
    const pool = runtimePool(kind);
    const caller = runtimeCaller(mode);
    const call = (socketPath: string, request: unknown) => caller.call(socketPath, request);
    const ask = async (fixture: string, request: unknown, extraEnv?: Record<string, string>) =>
      (await call((await pool.get(fixture, extraEnv)).socketPath, request)) as Response;
    afterAll(async () => {
      caller.close();
      await pool.stopAll();
    });

    describe('payload mode', () => {
      test('echo advances route.current and keeps id-less outputs', async () => {
        const res = await ask('echo', env({ message: 'hello' }));
        expect(res).toEqual([{ payload: { message: 'hello' }, route: { actors: ['a', 'b'], current: 1 } }]);
      });

      test('pause() answers one result with the pause in the x-asya-pause header, headers kept, route advanced', async () => {
        const headers = { traceparent: '00-abc-def-01' };
        const res = await ask('ask_approval', env({ doc: 'd1', timeout: 30, default: { approved: false } }, { headers }));
        expect(res).toEqual([
          {
            payload: { doc: 'd1', timeout: 30, default: { approved: false } },
            route: { actors: ['a', 'b'], current: 1 },
            headers: {
              traceparent: '00-abc-def-01',
              'x-asya-pause': {
                prompt: 'Approve d1?',
                schema: { type: 'object', properties: { approved: { type: 'boolean' }, note: { type: 'string' } }, required: ['approved'] },
                timeout_seconds: 30,
                default: { approved: false },
              },
            },
          },
        ]);
        const plain = await ask('ask_approval', env({ doc: 'd2' }));
        expect(plain[0]!.headers).toEqual({ 'x-asya-pause': expect.objectContaining({ prompt: 'Approve d2?' }) });
        expect(plain[0]!.headers['x-asya-pause']).not.toHaveProperty('default');
        expect(plain[0]!.headers['x-asya-pause']).not.toHaveProperty('timeout_seconds');
      });

      test('route metadata and extra route keys survive', async () => {
        const res = await ask('echo', { id: 'x', route: { actors: ['a'], current: 0, metadata: { k: 1 } }, payload: 1 });
        expect(res[0]!.route).toEqual({ actors: ['a'], current: 1, metadata: { k: 1 } });
      });

      test('headers are copied into every output', async () => {
        const headers = { traceparent: '00-abc-def-01' };
        const res = await ask('fanout', env({ count: 2 }, { headers }));
        expect(res.map((r) => r.headers)).toEqual([headers, headers]);
        const plain = await ask('echo', env({}));
        expect(plain[0]).not.toHaveProperty('headers');
      });

      test('a list result fans out, in order', async () => {
        const res = await ask('fanout', env({ count: 3 }));
        expect(res.map((r) => r.payload)).toEqual([0, 1, 2].map((index) => ({ index, of: 3 })));
        expect(res.every((r) => r.route.current === 1)).toBe(true);
      });

      test('None/null becomes an empty array', async () => {
        expect(await ask('empty', env({ x: 1 }))).toEqual([]);
      });

      test('payload may be {}, a string or a number, and null passes validation', async () => {
        for (const payload of [{}, 'text', 42]) {
          expect((await ask('echo', env(payload)))[0]!.payload).toEqual(payload);
        }
        // echo returns the null it was given, and a null result means "no output".
        expect(await ask('echo', env(null))).toEqual([]);
      });

      test('a class handler is instantiated once and keeps state', async () => {
        const counts = [];
        for (let i = 0; i < 3; i++) counts.push((await ask('Counter.process', env({ request_id: i })))[0]!.payload);
        expect(counts).toEqual([0, 1, 2].map((i) => ({ count: i + 1, request_id: i })));
      });

      test('unicode round-trips', async () => {
        const payload = { text: 'Hello 世界 🌍', rtl: 'שלום', nul: 'a\u0000b' };
        expect((await ask('echo', env(payload)))[0]!.payload).toEqual(payload);
      });

      test('10 MiB payloads in and out', async () => {
        const data = 'y'.repeat(10 * 1024 * 1024);
        expect((await ask('echo', env({ data })))[0]!.payload.data.length).toBe(data.length);
        expect((await ask('big', env({ size_mb: 10 })))[0]!.payload.data.length).toBe(10 * 1024 * 1024);
      });

      test('concurrent connections are all answered', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ask('echo', env({ i }))));
        expect(results.map((r) => r[0]!.payload.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      });
    });

    describe('errors', () => {
      test('a handler exception is a processing_error with details', async () => {
        const [res, ...rest] = await ask('fail', env({ message: 'Handler failed' }));
        expect(rest).toEqual([]);
        expect(res).toMatchObject({ error: 'processing_error', details: { message: 'Handler failed', type: 'ValueError' } });
        expect(res!.details.traceback).toContain('Handler failed');
      });

      test.each(['object', 'nan'])('an unserialisable result (%s) is a processing_error, not a dropped connection', async (kind) => {
        const [res] = await ask('unserializable', env({ kind }));
        expect(res!.error).toBe('processing_error');
        expect(res!.details.message).toBeTruthy();
        expect(res!.details.type).toMatch(/Error$/);
      });
    });

    describe('input validation (msg_parsing_error, the original messages)', () => {
      const cases: Array<[string, unknown, string]> = [
        ['missing payload', { route: route() }, "Missing required field 'payload' in envelope"],
        ['missing route', { payload: 1 }, "Missing required field 'route' in envelope"],
        ['route not a dict', { payload: 1, route: 'a' }, "Field 'route' must be a dict"],
        ['route without actors', { payload: 1, route: { current: 0 } }, "Missing required field 'actors' in route"],
        ['actors not a list', { payload: 1, route: { actors: 'a', current: 0 } }, "Field 'route.actors' must be a list"],
        ['current is a string', { payload: 1, route: { actors: ['a'], current: '0' } }, "Field 'route.current' must be an integer"],
        ['empty actors', { payload: 1, route: { actors: [], current: 0 } }, "Field 'route.actors' cannot be empty"],
        ['current negative', { payload: 1, route: { actors: ['a'], current: -1 } }, 'Invalid route.current=-1: out of bounds for actors of length 1'],
        ['current too big', { payload: 1, route: { actors: ['a', 'b'], current: 10 } }, 'Invalid route.current=10: out of bounds for actors of length 2'],
        ['headers not a dict', { payload: 1, route: route(), headers: 'x' }, "Field 'headers' must be a dict"],
        ['id not a string', { id: 12345, payload: 1, route: route() }, "Field 'id' must be a string"],
        ['envelope is a list', [1, 2], 'Envelope must be a JSON object, got list'],
      ];
      test.each(cases)('%s', async (_name, request, message) => {
        const [res] = await ask('echo', request);
        expect(res!.error).toBe('msg_parsing_error');
        expect(res!.details.message).toBe(message);
      });

      test('current == len(actors) is accepted and a missing current defaults to 0', async () => {
        expect((await ask('echo', { payload: 1, route: { actors: ['a'], current: 1 } }))[0]!.route.current).toBe(2);
        expect((await ask('echo', { payload: 1, route: { actors: ['a'] } }))[0]!.route.current).toBe(1);
      });

      test('validation off lets odd envelopes through', async () => {
        const res = await ask('echo', { payload: 1, route: { actors: [], current: 7 } }, { ASYA_ENABLE_VALIDATION: 'false' });
        expect(res).toEqual([{ payload: 1, route: { actors: [], current: 8 } }]);
      });
    });

    describe('envelope mode', () => {
      const mode = { ASYA_HANDLER_MODE: 'envelope' };
      const edit = (actors: string[], current: number, setRoute?: unknown, extra = {}) =>
        ask('edit_route', { id: 'e', route: { actors, current }, payload: setRoute ? { set_route: setRoute, ...extra } : extra }, mode);

      test('passthrough keeps id, parent_id, headers; strips unknown keys', async () => {
        const input = { id: 'i', parent_id: 'p', route: route(), headers: { trace_id: 't' }, payload: { a: 1 }, deadline: 'x' };
        const [out] = await ask('passthrough', input, mode);
        expect(out).toEqual({ id: 'i', parent_id: 'p', route: route(), headers: { trace_id: 't' }, payload: { a: 1 } });
      });

      test('adding and replacing future actors is allowed', async () => {
        const [out] = await edit(['a', 'b'], 0, { actors: ['a', 'b', 'c', 'd'], current: 1 });
        expect(out!.route).toEqual({ actors: ['a', 'b', 'c', 'd'], current: 1 });
        const [replaced] = await edit(['a', 'b', 'c', 'd'], 1, { actors: ['a', 'b', 'x', 'y'], current: 2 });
        expect(replaced!.route.actors).toEqual(['a', 'b', 'x', 'y']);
      });

      test('erasing a processed actor is refused with the original message', async () => {
        const [res] = await edit(['a', 'b', 'c'], 2, { actors: ['a', 'c', 'd'], current: 2 });
        expect(res!.error).toBe('processing_error');
        expect(res!.details.message).toBe(
          "Invalid output envelope[0/1]: Route modification error: already-processed actors cannot be erased. Input route had ['a', 'b', 'c'] (actors 0-2), but output route starts with ['a', 'c', 'd']. Runtimes can add future actors but must preserve all actors up to current.",
        );
      });

      test('an output route that is not a dict names the element', async () => {
        const [res] = await edit(['a'], 0, 'nope');
        expect(res!.error).toBe('processing_error');
        expect(res!.details.message).toContain("Field 'route' must be a dict");
        expect(res!.details.message).toContain('envelope[0/1]');
      });

      test('fan-out of envelopes keeps headers', async () => {
        const res = await ask('edit_route', { id: 'e', route: route(), headers: { h: 1 }, payload: { fanout: 3 } }, mode);
        expect(res.map((r) => [r.payload.index, r.route.current, r.headers])).toEqual([0, 1, 2].map((i) => [i, 1, { h: 1 }]));
      });
    });

    describe('bad frames', () => {
      const socket = async () => (await pool.get('echo')).socketPath;
      const { prefix, frame: encodeFrame } = caller;

      test('zero-length frame is a msg_parsing_error', async () => {
        const [res] = (await sendRaw(await socket(), prefix(0))) as Response;
        expect(res!.error).toBe('msg_parsing_error');
      });

      test('a truncated length prefix is a connection_error', async () => {
        const [res] = (await sendRaw(await socket(), prefix(0).subarray(0, 2))) as Response;
        expect(res!.error).toBe('connection_error');
      });

      test('a truncated body is a connection_error', async () => {
        const [res] = (await sendRaw(await socket(), Buffer.concat([prefix(100), Buffer.alloc(10, 0x20)]))) as Response;
        expect(res!.error).toBe('connection_error');
      });

      test('invalid UTF-8 is a msg_parsing_error', async () => {
        const [res] = (await sendRaw(await socket(), encodeFrame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))) as Response;
        expect(res!.error).toBe('msg_parsing_error');
        expect(res!.details.type).toBe('UnicodeDecodeError');
      });

      test('a replacement character the client really sent (U+FFFD) is text like any other', async () => {
        const res = await ask('echo', env({ text: 'a\uFFFDb', raw: '\uFFFD' }));
        expect(res).toEqual([{ payload: { text: 'a\uFFFDb', raw: '\uFFFD' }, route: { actors: ['a', 'b'], current: 1 } }]);
      });

      test('invalid UTF-8 beside a real replacement character is still a msg_parsing_error', async () => {
        const text = Buffer.from('{"payload": "\uFFFD', 'utf8');
        const [res] = (await sendRaw(await socket(), encodeFrame(Buffer.concat([text, Buffer.from([0xff, 0x22, 0x7d])])))) as Response;
        expect(res!.error).toBe('msg_parsing_error');
        expect(res!.details.type).toBe('UnicodeDecodeError');
      });

      test('invalid JSON is a msg_parsing_error', async () => {
        const [res] = (await sendRaw(await socket(), encodeFrame('{"id": '))) as Response;
        expect(res!.error).toBe('msg_parsing_error');
        expect(res!.details.type).toBe('JSONDecodeError');
      });

      test('a frame over the maximum is refused before it is read', async () => {
        const small = await pool.get('echo', { ASYA_MAX_FRAME_BYTES: '1024' });
        const [res] = (await sendRaw(small.socketPath, encodeFrame(JSON.stringify(env('z'.repeat(4096)))), false)) as Response;
        expect(res).toMatchObject({ error: 'msg_parsing_error', details: { type: 'FrameTooLarge' } });
        expect(res!.details.message).toContain('exceeds the maximum of 1024 bytes');
        expect((await call(small.socketPath, env('ok')) as Response)[0]!.payload).toBe('ok');
      });
    });

    describe('lifecycle', () => {
      let rt: RuntimeProcess;
      let gate: FixtureGate;
      beforeAll(async () => {
        gate = fixtureGate();
        rt = await startRuntime(kind, { handler: fixtureHandler(kind, 'gated') });
      });
      afterAll(() => gate.dispose());

      test('SIGTERM finishes the request in flight, then removes socket and ready file and exits 0', async () => {
        const inFlight = call(rt.socketPath, env({ ...gate.payload, n: 1 }));
        await expect.poll(() => gate.started(), { timeout: 20_000 }).toBe(1);
        rt.child.kill('SIGTERM');
        // The runtime has taken the signal (it no longer accepts) while the handler is still held.
        await expect.poll(() => accepts(rt.socketPath), { timeout: 20_000 }).toBe(false);
        gate.open();
        expect(((await inFlight) as Response)[0]!.payload).toEqual({ ...gate.payload, n: 1 });
        expect(await rt.exited).toBe(0);
        expect(existsSync(rt.socketPath)).toBe(false);
        expect(existsSync(rt.readyFile)).toBe(false);
      });
    });
  });
}
