import { describe, expect, test } from 'vitest';
import { envelopeKey, keySegment, lastActor, markerKey, reportedKey, timestampSegment } from './keys.ts';

describe('last actor', () => {
  test.each([
    ['in range: the actor at current (the failing one for errors)', { actors: ['a', 'b', 'c'], current: 1 }, 'b'],
    ['first actor (the original filed this under the last one)', { actors: ['a', 'b', 'c'], current: 0 }, 'a'],
    ['past the end: the last actor', { actors: ['a', 'b', 'c'], current: 3 }, 'c'],
    ['far past the end', { actors: ['a', 'b'], current: 9 }, 'b'],
    ['negative', { actors: ['a', 'b'], current: -1 }, 'b'],
    ['no actors', { actors: [], current: 0 }, 'unknown'],
    ['no route', undefined, 'unknown'],
  ])('%s', (_name, route, expected) => expect(lastActor(route)).toBe(expected));
});

describe('keys', () => {
  const at = new Date('2025-11-18T14:30:45.123Z');

  test("the original's layout: {prefix}{timestamp}/{last_actor}/{id}.json with microseconds", () => {
    expect(timestampSegment(at)).toBe('2025-11-18T14:30:45.123000Z');
    expect(envelopeKey('happy-asya/', { id: 'abc-123', route: { actors: ['text-processor'], current: 1 } }, at)).toBe(
      'happy-asya/2025-11-18T14:30:45.123000Z/text-processor/abc-123.json',
    );
    expect(markerKey('happy-asya/', 'abc-123')).toBe('happy-asya/ids/abc-123.json');
    expect(markerKey('error-asya/', 'abc-123', 2)).toBe('error-asya/ids/abc-123.replay-2.json');
    expect(reportedKey(markerKey('happy-asya/', 'abc-123'))).toBe('happy-asya/ids/abc-123.reported');
    expect(reportedKey(markerKey('error-asya/', 'abc-123', 2))).toBe('error-asya/ids/abc-123.replay-2.reported');
  });

  test('ids cannot leave their folder', () => {
    expect(keySegment('../../etc/passwd')).toBe('..%2F..%2Fetc%2Fpasswd');
    expect(keySegment('..')).toBe('%2E%2E');
    expect(keySegment('')).toBe('%00');
    expect(keySegment('a b/ü😀')).toBe('a%20b%2F%C3%BC%F0%9F%98%80');
    expect(keySegment('6f1c7a2e-0b7d-4a57-9a55-3d5f0c1c9e1a')).toBe('6f1c7a2e-0b7d-4a57-9a55-3d5f0c1c9e1a');
  });
});
