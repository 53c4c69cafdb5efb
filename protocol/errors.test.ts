import { describe, expect, it } from 'vitest';
import { asError, errorText, isTerminal, TerminalError } from './errors.ts';
import { FinalReportRejectedError, GatewayUnavailableError } from './gateway-client.ts';

describe('terminal errors', () => {
  it('are TerminalErrors, their subclasses, and errors that say so per instance', () => {
    class InvalidThing extends TerminalError {
      override readonly name = 'InvalidThing';
    }
    const perInstance = (terminal: boolean) => Object.assign(new Error('refused'), { terminal });
    const cases: Array<[unknown, boolean]> = [
      [new TerminalError('never'), true],
      [new InvalidThing('never'), true],
      [perInstance(true), true],
      [perInstance(false), false],
      [new Error('maybe later'), false],
      [{ terminal: true, message: 'not an Error' }, false],
      ['a string', false],
      [undefined, false],
    ];
    expect(cases.map(([err]) => isTerminal(err))).toEqual(cases.map(([, terminal]) => terminal));
  });

  it("a gateway's refusal of a final report is terminal; its absence is not", () => {
    expect(isTerminal(new FinalReportRejectedError('400'))).toBe(true);
    expect(new FinalReportRejectedError('400').name).toBe('FinalReportRejected');
    expect(isTerminal(new GatewayUnavailableError('503'))).toBe(false);
  });
});

describe('errorText and asError', () => {
  it("read an Error's message and turn anything else into text", () => {
    expect([new RangeError('bad range'), 'plain', 42, undefined, null, { code: 1 }].map(errorText)).toEqual([
      'bad range',
      'plain',
      '42',
      'undefined',
      'null',
      '[object Object]',
    ]);
  });

  it('keep an Error as it is and wrap anything else, keeping it as the cause', () => {
    const err = new TypeError('typed');
    expect(asError(err)).toBe(err);
    const wrapped = asError('thrown text');
    expect(wrapped).toBeInstanceOf(Error);
    expect([wrapped.message, wrapped.cause]).toEqual(['thrown text', 'thrown text']);
  });
});

describe('an invalid AsyncActor', () => {
  it('is terminal: reading the same resource again gives the same answer', async () => {
    const { parseAsyncActor, AsyncActorError } = await import('../api/index.ts');
    const invalid = (() => {
      try {
        parseAsyncActor({ apiVersion: 'asya.sh/v1alpha1', kind: 'AsyncActor', metadata: { name: 'x' }, spec: {} });
      } catch (err) {
        return err;
      }
    })();
    expect(invalid).toBeInstanceOf(AsyncActorError);
    expect(isTerminal(invalid)).toBe(true);
  });
});
