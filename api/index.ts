export * from './asyncactor.ts';
export * from './status.ts';
