import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests spawn servers and CLIs; two cores do not gain from more workers.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
