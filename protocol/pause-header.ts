/**
 * The reserved header of a result that asks to pause; the sidecar removes it before anything is stored.
 * In a module of its own so that the Node runtime, which only writes it, does not load pause.ts's schemas.
 */
export const PAUSE_HEADER = 'x-asya-pause';
