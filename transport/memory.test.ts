import { describe, expect, it } from 'vitest';
import { transportConformance } from './conformance.case.ts';
import { waitFor } from './conformance-helpers.ts';
import type { TransportLogger } from './log.ts';
import { MemoryTransport } from './memory.ts';
import { TransportError } from './transport.ts';

const quiet: TransportLogger = { info() {}, warn() {}, error() {} };

transportConformance('memory', async () => new MemoryTransport({ logger: quiet }), {});

describe('MemoryTransport specifics', () => {
  it('copies the published buffer, so later changes by the caller do not reach the consumer', async () => {
    const t = new MemoryTransport({ logger: quiet });
    await t.ensureQueue('asya-copy');
    const body = Buffer.from('original');
    await t.publish('asya-copy', body);
    body.write('mutated!');
    const seen: string[] = [];
    await t.consume('asya-copy', async (d) => {
      seen.push(d.body.toString());
      await t.ack(d);
    });
    await waitFor(() => seen.length === 1, 'delivery');
    expect(seen).toEqual(['original']);
    await t.close();
  });

  it('refuses work after close', async () => {
    const t = new MemoryTransport({ logger: quiet });
    await t.ensureQueue('asya-closed');
    await t.close();
    await expect(t.publish('asya-closed', Buffer.from('x'))).rejects.toBeInstanceOf(TransportError);
    await expect(t.publish('asya-closed', Buffer.from('x'))).rejects.toMatchObject({ reason: 'closed' });
  });

  it('rejects a delivery it did not hand out', async () => {
    const t = new MemoryTransport({ logger: quiet });
    await expect(t.ack({ queue: 'q', body: Buffer.alloc(0), deliveryCount: 1 })).rejects.toBeInstanceOf(TypeError);
    await t.close();
  });
});
