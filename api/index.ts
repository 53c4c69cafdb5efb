export * from './asyncactor.ts';
