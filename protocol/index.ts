export * from './envelope.ts';
export * from './error-envelope.ts';
export * from './framing.ts';
export * from './json.ts';
export * from './queues.ts';
export * from './runtime-response.ts';
export * from './duration.ts';
export * from './log.ts';
