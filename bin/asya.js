#!/usr/bin/env node
// The entry point registers tsx first so the CLI and users' TypeScript handlers run without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));
