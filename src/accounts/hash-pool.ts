import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashJob, HashResult } from './hash-worker.js';

/** Password work that must not run on the event loop. */
export interface PasswordHasher {
  /** Resolves false for a wrong password; rejects with HasherBusyError when the queue is full. */
  compare(password: string, hash: string): Promise<boolean>;
  hash(password: string, cost: number): Promise<string>;
  /** Jobs waiting for a worker plus jobs running. */
  readonly pending: number;
  /** True when a new job would be refused as busy. */
  readonly saturated: boolean;
  close(): Promise<void>;
}

export class HasherBusyError extends Error {
  override readonly name = 'HasherBusyError';
  readonly code = 'HASHER_BUSY';
  constructor() {
    super('password check queue is full');
  }
}

/**
 * bcrypt needs a few kilobytes per job: small heaps keep each worker thread's
 * memory (which every server pays, logins or not) to a few megabytes.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 };

type Pending = { job: HashJob; resolve: (value: boolean | string) => void; reject: (error: Error) => void };

export interface HashPoolOptions {
  /** Worker threads; defaults to the number of cores. */
  size?: number;
  /** Jobs that may wait for a worker before new ones are refused as busy. */
  maxQueue: number;
}

/**
 * A fixed pool of worker threads running bcrypt. The queue is bounded so a
 * login storm is told "busy" instead of growing memory and latency without end.
 */
export class HashPool implements PasswordHasher {
  readonly #idle: Worker[] = [];
  readonly #running = new Map<Worker, Pending>();
  readonly #queue: Pending[] = [];
  readonly #maxQueue: number;
  #nextId = 1;
  #closed = false;

  constructor(options: HashPoolOptions) {
    this.#maxQueue = options.maxQueue;
    const size = Math.max(1, options.size ?? availableParallelism());
    for (let i = 0; i < size; i += 1) this.#idle.push(this.#spawn());
  }

  get pending(): number {
    return this.#queue.length + this.#running.size;
  }

  get saturated(): boolean {
    return this.#idle.length === 0 && this.#queue.length >= this.#maxQueue;
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.#submit({ id: this.#nextId++, op: 'compare', password, hash }) as Promise<boolean>;
  }

  hash(password: string, cost: number): Promise<string> {
    return this.#submit({ id: this.#nextId++, op: 'hash', password, cost }) as Promise<string>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) pending.reject(new Error('hash pool closed'));
    const workers = [...this.#idle, ...this.#running.keys()];
    for (const [, pending] of this.#running) pending.reject(new Error('hash pool closed'));
    this.#running.clear();
    this.#idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #spawn(): Worker {
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { resourceLimits: WORKER_LIMITS });
    worker.on('message', (result: HashResult) => this.#finish(worker, result));
    worker.on('error', (error) => this.#replace(worker, error));
    return worker;
  }

  #submit(job: HashJob): Promise<boolean | string> {
    if (this.#closed) return Promise.reject(new Error('hash pool closed'));
    if (this.saturated) return Promise.reject(new HasherBusyError());
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop() as Worker;
      const pending = this.#queue.shift() as Pending;
      this.#running.set(worker, pending);
      worker.postMessage(pending.job);
    }
  }

  #finish(worker: Worker, result: HashResult): void {
    const pending = this.#running.get(worker);
    this.#running.delete(worker);
    if (!this.#closed) this.#idle.push(worker);
    if (pending !== undefined) {
      if (result.ok) pending.resolve(result.value);
      else pending.reject(new Error(result.error));
    }
    this.#dispatch();
  }

  /** A crashed worker fails its job and is replaced, so the pool never shrinks. */
  #replace(worker: Worker, error: Error): void {
    const pending = this.#running.get(worker);
    this.#running.delete(worker);
    pending?.reject(error);
    if (this.#closed) return;
    void worker.terminate();
    this.#idle.push(this.#spawn());
    this.#dispatch();
  }
}
