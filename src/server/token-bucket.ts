/** Tokens after `elapsedMs` of refilling at `perSecond`, never above `capacity`. */
function refilled(tokens: number, capacity: number, perSecond: number, elapsedMs: number): number {
  return Math.min(capacity, tokens + (Math.max(0, elapsedMs) / 1000) * perSecond);
}

/**
 * Rate limiting with escalation: lines past the limit are refused; a sender
 * who keeps going at several times the limit drains a second bucket of
 * "refusals" (twice the burst, refilled at the same rate) and is then cut off.
 * Two buckets as four plain numbers: one is kept per connection.
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
    const elapsedMs = now - this.#updatedAt;
    this.#updatedAt = now;
    this.#messages = refilled(this.#messages, this.burst, this.perSecond, elapsedMs);
    this.#refusals = refilled(this.#refusals, this.burst * 2, this.perSecond, elapsedMs);
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
