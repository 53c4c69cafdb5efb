import { describe, expect, test } from 'vitest';
import type { Envelope, RuntimeResult } from '../protocol/index.ts';
import { routeResults } from './outcome.ts';

const ends = { happyEnd: 'happy-end', errorEnd: 'error-end' };
const input = (extra: Partial<Envelope> = {}): Envelope => ({
  id: 'X',
  route: { actors: ['prep', 'infer'], current: 0 },
  payload: { input: 'test' },
  ...extra,
});
const next = (payload: unknown, current = 1, actors = ['prep', 'infer']) => ({ payload, route: { actors, current } }) as RuntimeResult;

describe('routing runtime results', () => {
  test('a single result keeps the id, propagates parent_id, headers and deadline, and goes to the next actor', () => {
    const env = input({ parent_id: 'P', headers: { traceparent: 't' }, deadline: '2099-01-01T00:00:00Z' });
    const { messages, children } = routeResults(env, [next({ y: 1 })], 'prep', ends);
    expect(children).toEqual([]);
    expect(messages).toEqual([
      {
        queue: 'asya-infer',
        kind: 'routing',
        envelope: { id: 'X', parent_id: 'P', route: { actors: ['prep', 'infer'], current: 1 }, headers: { traceparent: 't' }, payload: { y: 1 }, deadline: '2099-01-01T00:00:00Z' },
      },
    ]);
  });

  test('headers returned by an envelope-mode handler win over the input headers', () => {
    const result = { ...next(1), headers: { h: 'new' } } as RuntimeResult;
    const { messages } = routeResults(input({ headers: { h: 'old' } }), [result], 'prep', ends);
    expect((messages[0]!.envelope as Envelope).headers).toEqual({ h: 'new' });
  });

  test('the end of the route, or any out-of-range index, goes to happy-end with the route as returned', () => {
    for (const current of [2, 7, -1]) {
      const { messages } = routeResults(input(), [next('done', current)], 'infer', ends);
      expect(messages[0]!.queue).toBe('asya-happy-end');
      expect((messages[0]!.envelope as Envelope).route.current).toBe(current);
    }
  });

  test('an empty result sends the input envelope, unchanged, to happy-end', () => {
    const env = input({ headers: { a: 1 } });
    expect(routeResults(env, [], 'prep', ends).messages).toEqual([{ queue: 'asya-happy-end', kind: 'happy_end', envelope: env }]);
  });

  test('fan-out children all get fresh ids derived from the parent and parent_id', () => {
    const { messages, children } = routeResults(input(), [next(0), next(1), next(2)], 'prep', ends);
    expect(messages.map((m) => [(m.envelope as Envelope).id, (m.envelope as Envelope).parent_id, m.queue])).toEqual([
      ['X-0', 'X', 'asya-infer'],
      ['X-1', 'X', 'asya-infer'],
      ['X-2', 'X', 'asya-infer'],
    ]);
    expect(children.map((c) => [c.id, c.parent_id, c.index, c.count, c.current])).toEqual([
      ['X-0', 'X', 0, 3, 1],
      ['X-1', 'X', 1, 3, 1],
      ['X-2', 'X', 2, 3, 1],
    ]);
  });

  test('fan-out children carry their place in x-asya-fan-out, appended to the levels they are already inside', () => {
    const outer = { 'x-asya-fan-out': [{ parent_id: 'P', index: 1, size: 2 }], traceparent: 't' };
    const { messages } = routeResults(input({ headers: outer }), [next(0), next(1)], 'prep', ends);
    expect(messages.map((m) => (m.envelope as Envelope).headers)).toEqual([0, 1].map((index) => ({
      traceparent: 't',
      'x-asya-fan-out': [{ parent_id: 'P', index: 1, size: 2 }, { parent_id: 'X', index, size: 2 }],
    })));
    const single = routeResults(input({ headers: outer }), [next(0)], 'prep', ends).messages[0]!.envelope as Envelope;
    expect(single.headers).toEqual(outer);
  });

  test('nested fan-out never repeats an id', () => {
    const seen = new Set<string>();
    let frontier: Envelope[] = [input({ route: { actors: ['a', 'b', 'c', 'd'], current: 0 } })];
    for (let depth = 0; depth < 3; depth++) {
      frontier = frontier.flatMap((env) => {
        const results = [0, 1, 2].map(() => next(depth, env.route.current + 1, env.route.actors));
        return routeResults(env, results, env.route.actors[env.route.current]!, ends).messages.map((m) => m.envelope as Envelope);
      });
      for (const env of frontier) {
        expect(seen.has(env.id)).toBe(false);
        seen.add(env.id);
      }
    }
    expect(seen.size).toBe(3 + 9 + 27);
  });

  test('an error response goes to error-end with details, the original payload and the failing actor', () => {
    const error = { error: 'processing_error', details: { message: 'Invalid input', type: 'ValueError', traceback: 'tb' } };
    const { messages } = routeResults(input({ headers: { x: 1 } }), [error], 'prep', ends);
    expect(messages).toEqual([
      {
        queue: 'asya-error-end',
        kind: 'error_end',
        envelope: {
          id: 'X',
          route: { actors: ['prep', 'infer'], current: 0 },
          headers: { x: 1 },
          payload: { error: 'processing_error', code: 'processing_error', details: error.details, original_payload: { input: 'test' }, failed_actor: 'prep' },
        },
      },
    ]);
  });

  test('a result without a usable route is an invalid_response error, not a crash', () => {
    const { messages } = routeResults(input(), [{ payload: 1 } as RuntimeResult], 'prep', ends);
    expect(messages[0]!.queue).toBe('asya-error-end');
    expect((messages[0]!.envelope as { payload: { code: string } }).payload.code).toBe('invalid_response');
  });
});
