import { describe, expect, it } from 'vitest';
import { isTerminal } from '../protocol/errors.ts';
import { TransportError, type TransportErrorReason } from './transport.ts';

describe('TransportError', () => {
  it('is terminal for the refusals that publishing again would meet again, and only for those', () => {
    const terminal: Record<TransportErrorReason, boolean> = {
      unroutable: true,
      too_large: true,
      not_found: false,
      closed: false,
      rejected: false,
      unavailable: false,
    };
    const reasons = Object.keys(terminal) as TransportErrorReason[];
    expect(Object.fromEntries(reasons.map((r) => [r, isTerminal(new TransportError('x', r))]))).toEqual(terminal);
  });
});
