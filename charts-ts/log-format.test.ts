/**
 * The platform setting logFormat: `json` puts ASYA_LOG_FORMAT=json on every container of Asya's own that the
 * charts deploy (controller, gateway and its migration Job, the crew's sidecars and runtimes, whether the
 * crew is left to the controller or expanded here); the default writes no variable at all.
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_IMAGE } from '../krm-functions/platform-config.ts';
import { clusterObjects, containersOf, synthObjects } from '../test/support/charts.ts';
import type { PlatformOptions } from './options.ts';

/** Each container running the asya image, with its ASYA_LOG_FORMAT (undefined when unset). */
function logFormats(options: PlatformOptions) {
  return clusterObjects(synthObjects(options)).flatMap((o) =>
    containersOf(o)
      .filter((c) => String(c.image).startsWith(DEFAULT_IMAGE))
      .map((c) => ({ where: `${o.kind}/${o.metadata.name}/${c.name}`, value: ((c.env ?? []) as { name: string; value?: string }[]).find((e) => e.name === 'ASYA_LOG_FORMAT')?.value })),
  );
}

describe('platform logFormat', () => {
  for (const expand of [false, true]) {
    test(`json reaches the controller, the gateway and every crew container (crew ${expand ? 'expanded' : 'for the controller'})`, () => {
      const found = logFormats({ pattern: 'full', trial: true, gateway: { open: true }, crew: { ephemeralResults: true, expand }, platform: { logFormat: 'json' } });
      const where = found.map((f) => f.where);
      expect(where).toEqual(expect.arrayContaining(['Deployment/asya-controller/controller', 'Deployment/asya-gateway/gateway', 'Deployment/happy-end/asya-sidecar', 'Deployment/happy-end/asya-runtime']));
      expect(where.some((w) => w.startsWith('Job/'))).toBe(true);
      expect(found.filter((f) => f.value !== 'json')).toEqual([]);
    });
  }

  test('text, the default, writes no variable', () => {
    for (const platform of [{}, { logFormat: 'text' as const }]) {
      const found = logFormats({ pattern: 'full', trial: true, gateway: { open: true }, crew: { ephemeralResults: true }, platform });
      expect(found.length).toBeGreaterThan(4);
      expect(found.filter((f) => f.value !== undefined)).toEqual([]);
    }
  });
});
