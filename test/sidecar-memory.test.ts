import { MemoryTransport } from '../transport/memory.ts';
import { sidecarSuite } from './sidecar.case.ts';

sidecarSuite('the memory transport', { makeTransport: async () => new MemoryTransport(), runtimes: ['node', 'python'] });
