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
 * "refusals" (twice the burst, refilled at the same rate) and is then cut off.
 * Two buckets as four plain numbers: one is kept per logged-in user.
 */
export class FloodGuard {
  #messages: number;
  #refusals: number;
  #updatedAt: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.#messages = burst;
    this.#refusals = burst * 2;
    this.#updatedAt = now;
  }

  /** `allow`: deliver; `refuse`: tell the sender to slow down; `disconnect`: flooding. */
  check(now: number): 'allow' | 'refuse' | 'disconnect' {
    if (this.perSecond === 0) return 'allow';
    const refill = (Math.max(0, now - this.#updatedAt) / 1000) * this.perSecond;
    this.#updatedAt = now;
    this.#messages = Math.min(this.burst, this.#messages + refill);
    this.#refusals = Math.min(this.burst * 2, this.#refusals + refill);
    if (this.#messages >= 1) {
      this.#messages -= 1;
      return 'allow';
    }
    if (this.#refusals >= 1) {
      this.#refusals -= 1;
      return 'refuse';
    }
    return 'disconnect';
  }
}
