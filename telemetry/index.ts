export * from './tracing.ts';
export * from './messaging.ts';
export { TELEMETRY_SETTINGS } from './settings.ts';
