import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeConformance } from './conformance.case.ts';
import { openPgliteStore } from './pglite.ts';

storeConformance('pglite', {
  open: () => openPgliteStore(),
  openThrowaway: () => openPgliteStore(),
});

describe('pglite: data directory', () => {
  it('keeps envelopes and events across close and reopen (migrations re-run as a no-op)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'asya-pglite-'));
    try {
      const first = await openPgliteStore({ dataDir: dir });
      await first.create({ id: 'kept', actors: ['a'], payload: { n: 1 } });
      await first.setFinal('kept', { status: 'succeeded', result: 'r' });
      await first.close();
      const second = await openPgliteStore({ dataDir: dir });
      expect(await second.get('kept')).toMatchObject({ status: 'succeeded', result: 'r', payload: { n: 1 } });
      expect((await second.eventsSince('kept', 0)).map((e) => e.status)).toEqual(['pending', 'succeeded']);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
