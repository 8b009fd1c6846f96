import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export type HashJob = { id: number; op: 'compare'; password: string; hash: string } | { id: number; op: 'hash'; password: string; cost: number };
export type HashResult = { id: number; ok: true; value: boolean | string } | { id: number; ok: false; error: string };

// Runs bcrypt off the main thread: bcryptjs is pure JavaScript and one compare
// at cost 12 takes about 0.4 s, which would stall every chat on the event loop.
parentPort?.on('message', (job: HashJob) => {
  try {
    const value = job.op === 'compare' ? bcrypt.compareSync(job.password, job.hash) : bcrypt.hashSync(job.password, job.cost);
    parentPort?.postMessage({ id: job.id, ok: true, value } satisfies HashResult);
  } catch (error) {
    parentPort?.postMessage({ id: job.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies HashResult);
  }
});
