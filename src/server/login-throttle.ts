import type { ThrottleKind } from '../store/schema.js';
import type { ServerConfig } from './config.js';
import { failuresInWindow, isLockedAt, type ThrottleRecord } from '../store/throttles.js';
import { parseCidrList, type CidrList } from './cidr.js';
import { isPostgresUrl } from '../store/dialects/postgres-url.js';
import { redactUrl } from '../util/redact-url.js';

/**
 * Login throttling policy: windows, thresholds, penalties, decisions. Pure:
 * no database, no timers; every function takes the time (ms since the epoch).
 *
 * Failures are counted in a sliding window per client address and per
 * username. When a count reaches its threshold the key is locked; each lock
 * of the same key lasts twice the one before (fail2ban's bantime.increment),
 * capped, and the key's level is forgotten after a quiet `memoryMs`.
 */
export interface ThrottlePolicy {
  /** Failures from one address within the window that lock the address; 0 = never. */
  addressFailures: number;
  /** Failures for one username within the window that lock the username; 0 = never. */
  userFailures: number;
  /** The sliding window; 0 switches all throttling off. */
  windowMs: number;
  /** The first lock of a key; 0 switches all throttling off. */
  penaltyMs: number;
  /** The longest lock (never shorter than penaltyMs). */
  maxPenaltyMs: number;
  /** How long after its last lock ended a key's penalty level is remembered. */
  memoryMs: number;
  /** A locked username may still log in from an address it logged in from this recently; 0 = no exception. */
  trustMs: number;
  /** Addresses never counted or locked as addresses (`--throttle-exempt`); their failures still count for the username. */
  exempt?: CidrList | undefined;
  /** The database the lock lives in, named in the command logged to lift it. */
  dbFile?: string;
}

/**
 * A username is locked only when its failures in the window come from at
 * least this many addresses: one address alone is stopped by the address
 * lock, and must not be able to lock the real user out as well.
 */
export const MIN_USER_LOCK_SOURCES = 2;

export type ThrottleVerdict = { refuse: false } | { refuse: 'throttled_address' | 'throttled_user' };

export function throttlingEnabled(policy: ThrottlePolicy): boolean {
  return policy.windowMs > 0 && policy.penaltyMs > 0 && (policy.addressFailures > 0 || policy.userFailures > 0);
}

function thresholdOf(policy: ThrottlePolicy, kind: ThrottleKind): number {
  return kind === 'address' ? policy.addressFailures : policy.userFailures;
}

/** The length of the lock at `level` (1 for the first lock): penalty, doubling, capped. */
export function penaltyFor(policy: ThrottlePolicy, level: number): number {
  const cap = Math.max(policy.penaltyMs, policy.maxPenaltyMs);
  // 2^31 already passes any cap a timer-sized duration allows.
  return Math.min(cap, policy.penaltyMs * 2 ** Math.min(Math.max(level - 1, 0), 31));
}

/** Whether a record is locked now (a switched-off kind never is). */
export function lockedNow(policy: ThrottlePolicy, record: ThrottleRecord | undefined, now: number): boolean {
  return record !== undefined && thresholdOf(policy, record.kind) > 0 && isLockedAt(record, now);
}

/**
 * What to do with an attempt before any password is checked. A locked
 * address is refused outright. A locked username is refused unless the
 * caller knows the address is trusted for that user (it logged in as the
 * user from there within `trustMs`): that check needs the store, so the
 * verdict names it and the caller asks only in that rare case.
 */
export function decide(
  policy: ThrottlePolicy,
  records: { address?: ThrottleRecord | undefined; user?: ThrottleRecord | undefined },
  now: number,
): ThrottleVerdict {
  if (!throttlingEnabled(policy)) return { refuse: false };
  if (lockedNow(policy, records.address, now)) return { refuse: 'throttled_address' };
  if (lockedNow(policy, records.user, now)) return { refuse: 'throttled_user' };
  return { refuse: false };
}

/** The earliest time a record with this state no longer matters. */
export function expiryOf(policy: ThrottlePolicy, record: Pick<ThrottleRecord, 'failures' | 'lockedUntil' | 'penaltyLevel'>): number {
  const lastFailure = record.failures.at(-1)?.at ?? 0;
  const lockEnd = record.lockedUntil ?? 0;
  return Math.max(lastFailure + policy.windowMs, record.penaltyLevel > 0 ? lockEnd + policy.memoryMs : lockEnd);
}

/**
 * The record after one more failure at `at` by `from` (the other side:
 * username for an address, address for a username). `previous` may be
 * missing or expired; an expired record starts over at level 0.
 */
export function recordFailure(
  policy: ThrottlePolicy,
  kind: ThrottleKind,
  key: string,
  previous: ThrottleRecord | undefined,
  failure: { at: number; from: string },
): ThrottleRecord {
  const base = previous !== undefined && previous.expiresAt > failure.at ? previous : undefined;
  const threshold = thresholdOf(policy, kind);
  const counted = base === undefined ? [] : failuresInWindow({ ...base, windowMs: policy.windowMs }, failure.at);
  // Only the last `threshold` failures can ever matter.
  const failures = [...counted, failure].slice(-Math.max(threshold, 1));
  let penaltyLevel = base?.penaltyLevel ?? 0;
  let lockedUntil = base?.lockedUntil ?? null;
  const alreadyLocked = lockedUntil !== null && lockedUntil > failure.at;
  const sources = new Set(failures.map((f) => f.from)).size;
  const reached = threshold > 0 && failures.length >= threshold && (kind === 'address' || sources >= MIN_USER_LOCK_SOURCES);
  let kept = failures;
  if (reached && !alreadyLocked) {
    penaltyLevel += 1;
    lockedUntil = failure.at + penaltyFor(policy, penaltyLevel);
    // A fresh count after each lock: the next lock needs a full threshold again, and lasts twice as long.
    kept = [];
  }
  const record = { kind, key, failures: kept, windowMs: policy.windowMs, penaltyLevel, lockedUntil, updatedAt: failure.at, expiresAt: 0 };
  record.expiresAt = expiryOf(policy, record);
  return record;
}

/** True when `next`, the record after a failure at `at`, holds a lock that `previous` did not: a lock begins. */
export function lockStarted(previous: ThrottleRecord | undefined, next: ThrottleRecord, at: number): boolean {
  return next.lockedUntil !== null && next.lockedUntil > at && next.lockedUntil !== (previous?.lockedUntil ?? null);
}

/** Whole seconds until a lock ends (at least 1 while it holds). */
export function secondsLeft(record: Pick<ThrottleRecord, 'lockedUntil'>, now: number): number {
  return Math.max(1, Math.ceil(((record.lockedUntil ?? now) - now) / 1000));
}

/** The chat-admin command that lifts the lock on this key (an IPv6 /64 key is named by its network address). */
export function liftCommand(policy: ThrottlePolicy, kind: ThrottleKind, key: string): string {
  const target = kind === 'address' ? `--address ${key.replace(/\/64$/, '')}` : `--user ${key}`;
  return `chat-admin throttles clear ${target}${policy.dbFile === undefined ? '' : ` --db ${policy.dbFile}`}`;
}

/** Time to wait before answering a throttled attempt: one recent real verification time, so both answers take alike. */
export class VerifyTimer {
  readonly #samples: number[] = [];
  #next = 0;

  constructor(
    private readonly size = 32,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records how long one real credential check took, in ms. */
  add(ms: number): void {
    if (this.#samples.length < this.size) this.#samples.push(ms);
    else this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.size;
  }

  get count(): number {
    return this.#samples.length;
  }

  /**
   * A randomly chosen recent sample: it follows the real check's median and
   * its spread (queueing under load included), which a fixed delay would not.
   * `fallback` while nothing has been measured yet.
   */
  delay(fallback: number): number {
    if (this.#samples.length === 0) return fallback;
    return this.#samples[Math.floor(this.random() * this.#samples.length)]!;
  }
}

/** The policy a server's configuration asks for. */
export function throttlePolicy(config: ServerConfig): ThrottlePolicy {
  return {
    addressFailures: config.throttleAddressFailures,
    userFailures: config.throttleUserFailures,
    windowMs: config.throttleWindowMs,
    penaltyMs: config.throttlePenaltyMs,
    maxPenaltyMs: config.throttleMaxPenaltyMs,
    memoryMs: config.throttleMemoryMs,
    trustMs: config.throttleTrustMs,
    exempt: config.throttleExempt === '' ? undefined : parseCidrList(config.throttleExempt),
    // Logged in the lift command: a URL without its password.
    dbFile: isPostgresUrl(config.dbFile) ? redactUrl(config.dbFile) : config.dbFile,
  };
}
