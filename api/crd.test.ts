import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { TRANSPORT_NAMES } from '../protocol/transports.ts';
import { asyncActorCrd, crdYaml } from './crd.ts';

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; default?: unknown; [k: string]: unknown };

describe('AsyncActor CRD', () => {
  const crd = asyncActorCrd() as { spec: { names: Record<string, unknown>; versions: { schema: { openAPIV3Schema: Schema }; additionalPrinterColumns: { name: string; jsonPath: string }[] }[] } };
  const version = crd.spec.versions[0]!;
  const spec = version.schema.openAPIV3Schema.properties!.spec!;

  test('the committed YAML is what the schema generates (run `make crd` after changing api/)', () => {
    expect(readFileSync(join(import.meta.dirname, 'crd/asyncactors.asya.sh.yaml'), 'utf8')).toBe(crdYaml());
  });

  test("names, short names and printer columns are the original's", () => {
    expect(crd.spec.names).toEqual({ kind: 'AsyncActor', listKind: 'AsyncActorList', plural: 'asyncactors', singular: 'asyncactor', shortNames: ['asyncactor', 'asya', 'asyas'] });
    expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Status', 'Running', 'Failing', 'Total', 'Desired', 'Min', 'Max', 'Last-Scale', 'Age', 'Workload', 'Transport', 'Scaling', 'Queued', 'Processing',
    ]);
  });

  test("the original's defaults and the structural-schema rules", () => {
    const p = spec.properties!;
    expect(p.timeout!.properties!.processing!.default).toBe(300);
    expect(p.timeout!.properties!.gracefulShutdown!.default).toBe(30);
    expect(p.scaling!.properties!.maxReplicas!.default).toBe(50);
    expect(p.scaling!.properties!.queueLength!.default).toBe(5);
    expect(p.scaling!.properties!.cooldownPeriod!.default).toBe(60);
    expect(p.workload!.properties!.kind!.enum).toEqual(['Deployment', 'StatefulSet', 'Job']);
    expect(p.workload!.properties!.replicas).toMatchObject({ type: 'integer', format: 'int32', default: 1 });
    expect(p.workload!.properties!.template!.properties!.spec!['x-kubernetes-preserve-unknown-fields']).toBe(true);
    expect(spec.required).toEqual(['transport', 'workload']);
    // Structural schemas forbid these; one left in would make the API server refuse the CRD.
    const text = JSON.stringify(crd);
    expect(text).not.toContain('"$schema"');
    expect(text).not.toContain('"propertyNames"');
    expect(text).not.toContain('9007199254740991');
    const walk = (node: Schema, path: string): void => {
      if (node.properties && node.additionalProperties !== undefined) throw new Error(`${path}: properties and additionalProperties together`);
      if (node.properties === undefined && node.type === undefined && !node['x-kubernetes-preserve-unknown-fields']) throw new Error(`${path}: no type`);
      for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`);
      if (node.items) walk(node.items, `${path}[]`);
    };
    walk(version.schema.openAPIV3Schema, '');
  });

  test('CEL rules carry the validation messages the API server can check', () => {
    expect(spec.properties!.scaling!['x-kubernetes-validations']).toEqual([expect.objectContaining({ message: 'minReplicas must not exceed maxReplicas' })]);
    expect(YAML.stringify(spec.properties!.transport)).toContain(`self in [${TRANSPORT_NAMES.map((t) => `'${t}'`).join(', ')}]`);
  });
});
