import { describe, expect, it, vi } from 'vitest';

// A large server: more cores than --hash-workers accepts (max 64).
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>();
  return { ...os, default: { ...os, availableParallelism: () => 128 }, availableParallelism: () => 128 };
});

const { buildServerConfig } = await import('../../src/server/config.js');

describe('buildServerConfig on a machine with 128 cores', () => {
  it('the defaults alone are valid (every limit has a safe default)', () => {
    let hashWorkers: number | string;
    try {
      hashWorkers = buildServerConfig({}, {}).hashWorkers;
    } catch (error) {
      hashWorkers = `threw: ${(error as Error).message}`;
    }
    expect(hashWorkers).toBe(64);
  });

  it('an explicit --hash-workers still works', () => {
    expect(buildServerConfig({ 'hash-workers': '8' }, {}).hashWorkers).toBe(8);
  });
});
