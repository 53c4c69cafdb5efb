/**
 * The sidecar's claim check on its own: what the runtime is sent for an envelope with a reference, and how
 * a runtime's answer is read when results are large (sidecar/claim-check.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilePayloadStore, offloadPayload, resolvePayloadBytes } from '../payload-store/index.ts';
import { createLogger, payloadRefOf, type Envelope } from '../protocol/index.ts';
import { ClaimCheck } from './claim-check.ts';
import { RuntimeCallError } from './runtime-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'asya-sidecar-cc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = new FilePayloadStore(dir);
const options = { thresholdBytes: 100, log: createLogger('ERROR', 'test.cc'), stopping: new AbortController().signal, holdLimitMs: 1000 };
const check = new ClaimCheck({ ...options, store });
const input: Envelope = { id: 'e-1', route: { actors: ['a', 'b'], current: 0 }, headers: { k: 'v' }, payload: { n: 1 } };
const joined = (body: Buffer | Buffer[]) => JSON.parse(Buffer.concat(Buffer.isBuffer(body) ? [body] : body).toString('utf8')) as unknown;

describe("the sidecar's claim check", () => {
  it('an ordinary envelope goes to the runtime byte for byte; a reference is replaced by the payload it names', async () => {
    const delivery = { body: Buffer.from(JSON.stringify(input)) };
    expect(await check.runtimeBody(delivery, input)).toEqual({ body: delivery.body });
    const large = { text: 'z'.repeat(500), list: [1, 2] };
    const { payload } = await offloadPayload(store, 'e-1', Buffer.from(JSON.stringify(large)));
    const withRef = { ...input, payload };
    const sent = await check.runtimeBody({ body: Buffer.from(JSON.stringify(withRef)) }, withRef);
    expect('body' in sent && joined(sent.body)).toEqual({ ...input, payload: large });
  });

  it('a reference without a store, or to a missing object, is unreadable with the reason', async () => {
    const ref = { asya_payload_ref: { uri: `file://${dir}/2026-01-01/x/${'a'.repeat(64)}.json`, size: 3, sha256: 'a'.repeat(64), content_type: 'application/json' } };
    const withRef = { ...input, payload: ref };
    const noStore = new ClaimCheck({ ...options, store: undefined });
    expect(await noStore.runtimeBody({ body: Buffer.alloc(0) }, withRef)).toEqual({ unreadable: expect.stringContaining('no payload store (ASYA_PAYLOAD_STORE)') });
    expect(await check.runtimeBody({ body: Buffer.alloc(0) }, withRef)).toEqual({ unreadable: expect.stringContaining('does not exist') });
  });

  it("offloads each large result's payload from the frame and parses the rest; small answers are parsed as ever", async () => {
    const read = check.responseReader(input)!;
    const route = { actors: ['a', 'b'], current: 1 };
    const big = { text: 'q'.repeat(300) };
    const frame = Buffer.from(JSON.stringify([{ payload: big, route }, { payload: { small: true }, route }]));
    const results = await read(frame);
    const ref = payloadRefOf((results[0] as { payload: unknown }).payload)!;
    expect(JSON.parse((await resolvePayloadBytes(store, ref)).toString('utf8'))).toEqual(big);
    expect(results[1]).toEqual({ payload: { small: true }, route });
    expect(await read(Buffer.from(JSON.stringify([{ payload: 1, route }])))).toEqual([{ payload: 1, route }]);
    await expect(read(Buffer.from(`[${'1,'.repeat(60)}1`))).rejects.toBeInstanceOf(RuntimeCallError);
  });

  it('a result the store cannot take fails the call as result_not_stored (the input is requeued)', async () => {
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, '');
    const broken = new ClaimCheck({ ...options, holdLimitMs: 0, store: new FilePayloadStore(join(blocked, 'below-a-file')) });
    const frame = Buffer.from(JSON.stringify([{ payload: 'w'.repeat(300), route: { actors: ['a'], current: 1 } }]));
    await expect(broken.responseReader(input)!(frame)).rejects.toMatchObject({ failure: 'result_not_stored' });
  });
});
