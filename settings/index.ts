export * from './duration.ts';
export * from './kinds.ts';
export * from './setting.ts';
export * from './read.ts';
export * from './write.ts';
export * from './docs.ts';
