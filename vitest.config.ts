import { defineConfig } from 'vitest/config';

/** The folders whose code coverage measures (the components; see docs/testing.md, "Coverage"). */
export const COMPONENTS = ['settings', 'telemetry', 'protocol', 'api', 'transport', 'payload-store', 'runtime', 'sidecar', 'gateway', 'crew', 'krm-functions', 'controller', 'charts-ts', 'cli'];

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.git/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites share one RabbitMQ and one PostgreSQL; queue and schema names are unique per test file,
    // so files may run in parallel, but two cores do not gain from more than two workers.
    maxWorkers: 2,
    // Component logs written straight to stderr become per-test output, shown only when that test fails.
    setupFiles: ['test/runner/route-output.ts'],
    // Off unless asked for (`make coverage`): v8 coverage slows every test.
    coverage: {
      provider: 'v8',
      include: COMPONENTS.map((folder) => `${folder}/**/*.{ts,js,mjs}`),
      // Test support lives in test/support/, outside the component folders, so it needs no entry here.
      exclude: ['**/*.test.ts', '**/*.case.ts', '**/testdata/**'],
      reporter: ['json-summary', 'html'],
      reportsDirectory: 'coverage',
      // The numbers are worth having even when a test failed under load.
      reportOnFailure: true,
    },
  },
});
