import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.git/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites share one RabbitMQ and one PostgreSQL; queue and schema names are unique per test file,
    // so files may run in parallel, but two cores do not gain from more than two workers.
    maxWorkers: 2,
  },
});
