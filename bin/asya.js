#!/usr/bin/env node
// The entry point registers tsx first so the CLI and users' TypeScript handlers run without a build step.
import { register } from 'tsx/esm/api';

register();
// Handlers' TypeScript then goes through tsx as before: its hooks take every .ts import anyway
// (runtime/node/load-handler.ts; the images' bundled CLI, which registers nothing, lets Node strip types).
globalThis[Symbol.for('asya.tsx-registered')] = true;
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));
