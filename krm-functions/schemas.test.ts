/**
 * Everything the functions emit in the golden cases (and the generated CRD) is a valid Kubernetes or KEDA
 * object according to the published schemas.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { asyncActorCrd } from '../api/crd.ts';
import { validateKubeObject } from '../test/support/kube-schemas.ts';

const GENERATED_BY = 'asya.sh/generated-by';

describe('output validates against the Kubernetes and KEDA schemas', () => {
  for (const fn of ['inject-sidecar', 'keda-scaler']) {
    const root = join(import.meta.dirname, fn, 'testdata');
    for (const caseName of readdirSync(root).sort()) {
      const expected = join(root, caseName, 'expected.yaml');
      if (!existsSync(expected)) continue;
      const objects = YAML.parseAllDocuments(readFileSync(expected, 'utf8'))
        .map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name?: string; annotations?: Record<string, string> } } | null)
        .filter((o) => o !== null && o.metadata.annotations?.[GENERATED_BY] === fn);
      if (objects.length === 0) continue;
      test(`${fn}/${caseName}: ${objects.length} object(s)`, async () => {
        for (const object of objects) await validateKubeObject(object!);
      });
    }
  }

  test('the validator refuses a malformed object (it can fail)', async () => {
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'three', selector: {}, template: {} } };
    await expect(validateKubeObject(bad)).rejects.toThrow(/replicas/);
    await expect(validateKubeObject({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'x' }, spec: {} })).rejects.toThrow(/scaleTargetRef/);
  });

  test('the generated CRD is a valid CustomResourceDefinition', async () => {
    await validateKubeObject(asyncActorCrd() as never);
  });
});
