/** Handlers that must fail to load, for runtime/node/load-handler.test.ts. */
export const notCallable = 42;

export class NeedsArg {
  constructor(readonly required: string) {}
  process(payload: unknown): unknown {
    return payload;
  }
}

export class Explodes {
  constructor() {
    throw new Error('cannot start');
  }
  process(payload: unknown): unknown {
    return payload;
  }
}

export class Defaults {
  constructor(readonly greeting = 'hi') {}
  process(payload: { name?: string }): unknown {
    return `${this.greeting} ${payload.name ?? 'there'}`;
  }
}
