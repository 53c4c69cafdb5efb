/**
 * Seeded hostile mutations of valid envelopes, for fuzzing what a sidecar does with whatever is published
 * to its queue. Every message carries its token (as its id, in its payload, or in its raw bytes) so a test
 * can find it again wherever it ends: a final report under its id, or a dead-letter record that holds it.
 */

/** mulberry32: small, fast and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HostileMessage {
  token: string;
  /** Which mutation made it, for the failure message. */
  kind: string;
  body: Buffer;
}

type Rand = () => number;
type Json = Record<string, unknown>;

const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

function nested(depth: number, leaf: string): string {
  const open = Array.from({ length: depth }, (_, i) => (i % 2 ? '{"k":' : '[')).join('');
  const close = Array.from({ length: depth }, (_, i) => (i % 2 ? '}' : ']')).reverse().join('');
  return `${open}${JSON.stringify(leaf)}${close}`;
}

/** The valid envelope each mutation starts from: the id first, so a byte-level mutation further on keeps it. */
function base(token: string, actors: string[], rand: Rand): Json {
  return { id: token, route: { actors, current: 0 }, headers: { trace: token }, payload: { token, n: Math.floor(rand() * 1000) } };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** Splices raw JSON text in place of the payload, for nesting JSON.stringify could not even produce. */
const withRawPayload = (envelope: Json, raw: string): Buffer => {
  const { payload: _payload, ...rest } = envelope;
  return Buffer.from(`${JSON.stringify(rest).slice(0, -1)},"payload":${raw}}`);
};

const MUTATIONS: Record<string, (e: Json, token: string, rand: Rand, actors: string[]) => Buffer> = {
  valid: (e) => json(e),
  'id not a string': (e, _t, rand) => json({ ...e, id: pick(rand, [42, null, true, ['x'], { id: 'x' }]) }),
  'no id': ({ id: _id, ...rest }) => json(rest),
  'no route': ({ route: _route, ...rest }) => json(rest),
  'no payload': ({ payload: _payload, ...rest }) => json(rest),
  'route not an object': (e, _t, rand) => json({ ...e, route: pick(rand, ['a', 7, null, [], ['a']]) }),
  'current malformed': (e, _t, rand, actors) => json({ ...e, route: { actors, current: pick(rand, [-1, '0', 1.5, null, 99, true, -1e9, {}]) } }),
  'actors malformed': (e, _t, rand) => json({ ...e, route: { actors: pick(rand, [[1, 2], 'a', null, [null], [{}]]), current: 0 } }),
  'empty actors': (e) => json({ ...e, route: { actors: [], current: 0 } }),
  'route to a missing actor': (e, token, _r, actors) => json({ ...e, route: { actors: [...actors.slice(0, 1), `ghost-${token.toLowerCase()}`], current: 0 } }),
  'route mismatch': (e, _t, _r, actors) => json({ ...e, route: { actors: [...actors].reverse(), current: 0 } }),
  'headers malformed': (e, _t, rand) => json({ ...e, headers: pick(rand, ['h', 1, [], null]) }),
  'payload of another type': (e, token, rand) => json({ ...e, payload: pick(rand, [token, 3.25, null, [token], true, `${token} 你好 🎉 \u2028`]) }),
  'huge string': (e, token, rand) => json({ ...e, payload: { token, blob: 'x'.repeat(Math.floor(rand() * 2 * 1024 * 1024)) } }),
  'huge id': (e, token) => json({ ...e, payload: { token }, id: `${token}${'i'.repeat(100_000)}` }),
  'deep payload': (e, token, rand) => withRawPayload(e, nested(pick(rand, [40, 400, 511, 513, 600, 5000, 100_000]), token)),
  'deep headers': (e, token, rand) => {
    const { headers: _headers, ...rest } = e;
    return Buffer.from(`${JSON.stringify(rest).slice(0, -1)},"headers":{"deep":${nested(pick(rand, [600, 100_000]), token)}}}`);
  },
  'deep route metadata': (e, token, _r, actors) => {
    const { route: _route, ...rest } = e;
    return Buffer.from(`${JSON.stringify(rest).slice(0, -1)},"route":{"actors":${JSON.stringify(actors)},"current":0,"metadata":{"m":${nested(20_000, token)}}}}`);
  },
  'not JSON': (_e, token, rand) => Buffer.concat([Buffer.from(`${token} `), Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)))]),
  'JSON but not an object': (_e, token, rand) => json(pick(rand, [[token], token, [null, 12, true, token]])),
  truncated: (e, _t, rand) => {
    const full = json(e);
    return full.subarray(0, Math.max(20 + String(e.id).length, Math.floor(rand() * full.length)));
  },
  'invalid UTF-8': (e, token) => {
    const full = json({ ...e, payload: { token, text: '@@@@' } });
    const at = full.indexOf('@@@@');
    return Buffer.concat([full.subarray(0, at), Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]), full.subarray(at + 4)]);
  },
  'bytes flipped in the payload': (e, _t, rand) => {
    const full = Buffer.from(json(e));
    const from = full.indexOf('"payload"');
    for (let i = 0; i < 3; i++) full[from + Math.floor(rand() * (full.length - from))] = Math.floor(rand() * 256);
    return full;
  },
  'deadline garbage': (e, _t, rand) => json({ ...e, deadline: pick(rand, ['tomorrow', 12, null, '1970-01-01T00:00:00Z', {}]) }),
  'unknown fields': (e, token) => json({ ...e, extra: { token }, __proto__x: 1, route: { ...(e.route as Json), extra: [1] } }),
  'parent_id odd': (e, _t, rand) => json({ ...e, parent_id: pick(rand, [1, null, '', 'p'.repeat(10_000)]) }),
  'whitespace and token': (_e, token) => Buffer.from(` \n\t${token}\r\n`),
};

/** `count` mutations from `seed` of envelopes routed through `actors`, to be published to the first one's queue. */
export function hostileMessages(seed: number, count: number, actors: string[], prefix: string): HostileMessage[] {
  const rand = seededRandom(seed);
  const kinds = Object.keys(MUTATIONS);
  return Array.from({ length: count }, (_, i) => {
    // Actor names end up in queue names (lower case); the token lives in ids, payloads and ghost actor names.
    const token = `${prefix}-${i}`;
    const kind = i < kinds.length ? kinds[i]! : pick(rand, kinds);
    const body = MUTATIONS[kind]!(base(token, actors, rand), token, rand, actors);
    return { token, kind, body };
  });
}
