import { expect, test } from 'vitest';
import { didYouMean, nearestName } from './nearest-name.ts';

test('a typo finds the closest valid name; a different word finds none', () => {
  expect(nearestName('maxReplica', ['minReplicas', 'maxReplicas', 'queueLength'])).toBe('maxReplicas');
  expect(nearestName('scalling', ['scaling', 'workload', 'retry'])).toBe('scaling');
  expect(nearestName('prot', ['port', 'transport'])).toBe('port');
  expect(nearestName('banana', ['scaling', 'workload'])).toBeUndefined();
  expect(didYouMean('maxReplica', ['maxReplicas'])).toBe(' (did you mean maxReplicas?)');
  expect(didYouMean('prot', ['port'], '--')).toBe(' (did you mean --port?)');
  expect(didYouMean('zzz', ['port'])).toBe('');
});
