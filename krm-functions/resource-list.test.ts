import { describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { FUNCTIONS } from './functions.ts';
import { loadManifestDocuments, runFunction } from './resource-list.ts';

/** A package object the functions only pass through, written as a user writes it (plain scalars, not quoted). */
const PASSED_THROUGH = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: release
    annotations:
      released: 2024-01-01
  data:
    day: 2024-01-01
    moment: 2024-01-01 10:20:30
    count: "3"
`;

describe('the ResourceList wire', () => {
  for (const name of Object.keys(FUNCTIONS)) {
    test(`${name} passes date-like plain scalars through as the strings Kubernetes reads, not as ISO date-times`, () => {
      const out = runFunction(FUNCTIONS[name]!, PASSED_THROUGH);
      expect(out.exitCode).toBe(0);
      expect(out.stdout).not.toContain('T00:00:00');
      const list = YAML.parse(out.stdout) as { items: { metadata: { annotations: Record<string, string> }; data: Record<string, string> }[] };
      const configMap = list.items.find((item) => (item as unknown as { kind: string }).kind === 'ConfigMap')!;
      expect(configMap.metadata.annotations.released).toBe('2024-01-01');
      expect(configMap.data).toEqual({ day: '2024-01-01', moment: '2024-01-01 10:20:30', count: '3' });
    });
  }
});

test('manifests load with dates as strings (the loader `asya render` reads sources with), and with YAML 1.1 merge keys still merged', () => {
  const [doc] = loadManifestDocuments('base: &b {x: 1}\nday: 2024-01-01\nmerged: {<<: *b, y: 2}\n');
  expect(doc).toEqual({ base: { x: 1 }, day: '2024-01-01', merged: { x: 1, y: 2 } });
});
