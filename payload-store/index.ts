export * from './store.ts';
export * from './file-store.ts';
export * from './s3-store.ts';
export * from './claim-check.ts';
export * from './response-scan.ts';
