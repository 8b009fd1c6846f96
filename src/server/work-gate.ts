/**
 * At most `running` jobs at once, at most `waiting` more in line (first come,
 * first served); past that a job is refused at once. For work whose cost is
 * the store's, not the CPU's (a resume is a few statements): waiting in line
 * is cheap, and a bounded line keeps a storm from piling up without end.
 */
export class WorkGate {
  #running = 0;
  readonly #line: Array<() => void> = [];

  constructor(
    private readonly running: number,
    /** Infinity for no bound. */
    private readonly waiting: number,
  ) {}

  get inProgress(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#line.length;
  }

  /** Runs `job` when its turn comes; undefined (job not run) when the line is full. */
  run<T>(job: () => Promise<T>): Promise<T> | undefined {
    if (this.#running < this.running) return this.#start(job);
    if (this.#line.length >= this.waiting) return undefined;
    return new Promise<void>((resolve) => this.#line.push(resolve)).then(() => this.#start(job));
  }

  async #start<T>(job: () => Promise<T>): Promise<T> {
    this.#running += 1;
    try {
      return await job();
    } finally {
      this.#running -= 1;
      const next = this.#line.shift();
      if (next !== undefined) next();
    }
  }
}
