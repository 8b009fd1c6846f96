import { describe, expect, it } from 'vitest';
import { WorkGate } from '../../src/server/work-gate.js';

function deferred(): { promise: Promise<string>; resolve(value: string): void } {
  let resolve!: (value: string) => void;
  const promise = new Promise<string>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkGate', () => {
  it('runs at most `running` jobs, lines up `waiting` more in order, refuses past that', async () => {
    const gate = new WorkGate(2, 2);
    const jobs = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    const runs = jobs.map((job, i) =>
      gate.run(() => {
        started.push(i);
        return job.promise;
      }),
    );
    expect(runs[4]).toBeUndefined();
    expect(started).toEqual([0, 1]);
    expect(gate.inProgress).toBe(2);
    expect(gate.queued).toBe(2);
    jobs[1]!.resolve('one');
    expect(await runs[1]).toBe('one');
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    jobs[0]!.resolve('zero');
    jobs[2]!.resolve('two');
    jobs[3]!.resolve('three');
    expect(await Promise.all(runs.slice(0, 4))).toEqual(['zero', 'one', 'two', 'three']);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(gate.inProgress).toBe(0);
  });

  it('a failed job frees its place', async () => {
    const gate = new WorkGate(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await gate.run(() => Promise.resolve('yes'))).toBe('yes');
  });
});
