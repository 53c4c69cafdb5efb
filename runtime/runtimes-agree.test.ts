/** For the same request, the Python and Node runtimes give the same answer (tracebacks aside), with and without keep-alive. */
import { afterAll, describe, expect, test } from 'vitest';
import { fixtureHandler, startRuntime, type RuntimeProcess } from '../test/support/runtime-process.ts';
import { CONNECTION_MODES, runtimeCaller } from '../test/support/socket-client.ts';

const started: RuntimeProcess[] = [];
const pools = new Map<string, Promise<RuntimeProcess>>();
function runtime(kind: 'python' | 'node', fixture: string, mode: string): Promise<RuntimeProcess> {
  const key = `${kind} ${fixture} ${mode}`;
  if (!pools.has(key)) {
    pools.set(
      key,
      startRuntime(kind, { handler: fixtureHandler(kind, fixture), env: { ASYA_HANDLER_MODE: mode } }).then((p) => (started.push(p), p)),
    );
  }
  return pools.get(key)!;
}
afterAll(() => Promise.all(started.map((p) => p.stop())));

/** Tracebacks are language-specific; everything else must match exactly. */
function comparable(response: unknown): unknown {
  return JSON.parse(JSON.stringify(response), (key, value) => (key === 'traceback' ? typeof value : value));
}

const route = { actors: ['a', 'b', 'c'], current: 0 };
const cases: Array<[string, string, string, unknown]> = [
  ['echo', 'echo', 'payload', { id: '1', route, headers: { t: 1 }, payload: { text: 'héllo 🌍', n: [1, 2.5, null, true] } }],
  ['fan-out', 'fanout', 'payload', { id: '1', route, payload: { count: 4 } }],
  ['empty', 'empty', 'payload', { id: '1', route, payload: {} }],
  ['handler error', 'fail', 'payload', { id: '1', route, payload: { message: 'nope' } }],
  ['missing route', 'echo', 'payload', { payload: 1 }],
  ['bad current', 'echo', 'payload', { payload: 1, route: { actors: ['a'], current: 5 } }],
  ['not an object', 'echo', 'payload', JSON.stringify('just a string')],
  ['a list', 'echo', 'payload', [1, 2]],
  ['route erased', 'edit_route', 'envelope', { id: '1', route: { actors: ['a', 'b'], current: 1 }, payload: { set_route: { actors: ['x', 'b'], current: 2 } } }],
  ['route extended', 'edit_route', 'envelope', { id: '1', route, payload: { set_route: { actors: ['a', 'b', 'c', 'd'], current: 1 } } }],
  ['envelope fan-out', 'edit_route', 'envelope', { id: '1', route, headers: { h: 'v' }, payload: { fanout: 2 } }],
];

describe.each(CONNECTION_MODES)('python and node runtimes agree (%s)', (connections) => {
  const caller = runtimeCaller(connections);
  afterAll(() => caller.close());
  test.each(cases)('%s', async (_name, fixture, mode, request) => {
    const [python, node] = await Promise.all([runtime('python', fixture, mode), runtime('node', fixture, mode)]);
    const [fromPython, fromNode] = await Promise.all([caller.call(python.socketPath, request), caller.call(node.socketPath, request)]);
    expect(comparable(fromNode)).toEqual(comparable(fromPython));
  });
});
