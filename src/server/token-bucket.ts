/**
 * A token bucket fed by an injected clock: `capacity` tokens at once, then
 * `perSecond` more each second. A rate of 0 means unlimited.
 */
export class TokenBucket {
  #tokens: number;
  #updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.#tokens = capacity;
    this.#updatedAt = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    if (this.perSecond === 0) return true;
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#updatedAt) / 1000;
    this.#tokens = Math.min(this.capacity, this.#tokens + elapsed * this.perSecond);
    this.#updatedAt = now;
  }
}

/**
 * Rate limiting with escalation: lines past the limit are refused; a sender
 * who keeps going at several times the limit drains a second bucket of
 * "refusals" (refilled at the same rate) and is then cut off.
 */
export class FloodGuard {
  readonly #messages: TokenBucket;
  readonly #refusals: TokenBucket;

  constructor(burst: number, perSecond: number, now: number) {
    this.#messages = new TokenBucket(burst, perSecond, now);
    this.#refusals = new TokenBucket(burst * 2, perSecond, now);
  }

  /** `allow`: deliver; `refuse`: tell the sender to slow down; `disconnect`: flooding. */
  check(now: number): 'allow' | 'refuse' | 'disconnect' {
    if (this.#messages.take(now)) return 'allow';
    return this.#refusals.take(now) ? 'refuse' : 'disconnect';
  }
}
