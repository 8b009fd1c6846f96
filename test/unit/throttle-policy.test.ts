import { describe, expect, it } from 'vitest';
import { decide, expiryOf, liftCommand, lockStarted, penaltyFor, recordFailure, secondsLeft, throttlingEnabled, VerifyTimer, type ThrottlePolicy } from '../../src/server/login-throttle.js';
import { failuresInWindow, throttleAddressKey, type ThrottleRecord } from '../../src/store/throttles.js';

const MIN = 60_000;
const POLICY: ThrottlePolicy = {
  addressFailures: 10,
  userFailures: 10,
  windowMs: 10 * MIN,
  penaltyMs: MIN,
  maxPenaltyMs: 60 * MIN,
  memoryMs: 24 * 60 * MIN,
  trustMs: 14 * 24 * 60 * MIN,
};
const T0 = Date.parse('2026-11-26T10:00:00Z');

/** `count` failures, one a second from `start`, folded into one record. */
function fail(
  kind: 'address' | 'user',
  count: number,
  options: { start?: number; from?: (i: number) => string; record?: ThrottleRecord; policy?: ThrottlePolicy } = {},
): ThrottleRecord | undefined {
  let record = options.record;
  for (let i = 0; i < count; i += 1) {
    record = recordFailure(options.policy ?? POLICY, kind, 'k', record, { at: (options.start ?? T0) + i * 1000, from: options.from?.(i) ?? 'a' });
  }
  return record;
}

describe('login throttle policy', () => {
  it('locks an address at the threshold, not before, for the first penalty', () => {
    const nine = fail('address', 9)!;
    expect(nine.lockedUntil).toBeNull();
    expect(decide(POLICY, { address: nine }, T0 + 9000)).toEqual({ refuse: false });
    const ten = fail('address', 1, { start: T0 + 9000, record: nine })!;
    expect(ten.lockedUntil).toBe(T0 + 9000 + MIN);
    expect(ten.penaltyLevel).toBe(1);
    expect(decide(POLICY, { address: ten }, T0 + 9000 + MIN - 1)).toEqual({ refuse: 'throttled_address' });
    expect(decide(POLICY, { address: ten }, T0 + 9000 + MIN)).toEqual({ refuse: false });
  });

  it('counts in a sliding window: old failures stop counting', () => {
    const early = fail('address', 9)!;
    // The 10th failure comes after the first nine left the window.
    const late = fail('address', 1, { start: T0 + 10 * MIN + 9000, record: early })!;
    expect(late.lockedUntil).toBeNull();
    expect(failuresInWindow(late, T0 + 10 * MIN + 9000)).toHaveLength(1);
  });

  it('doubles the penalty on each repeat offence, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((level) => penaltyFor(POLICY, level) / MIN)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    let record: ThrottleRecord | undefined;
    let start = T0;
    const locks: number[] = [];
    for (let round = 0; round < 4; round += 1) {
      record = fail('address', 10, { start, record });
      locks.push((record!.lockedUntil! - (start + 9000)) / MIN);
      start = record!.lockedUntil! + 1000;
    }
    expect(locks).toEqual([1, 2, 4, 8]);
  });

  it('never caps below the first penalty', () => {
    expect(penaltyFor({ ...POLICY, penaltyMs: 5 * MIN, maxPenaltyMs: MIN }, 3)).toBe(5 * MIN);
  });

  it('forgets the level after a quiet memory period, and the record expires', () => {
    const locked = fail('address', 10)!;
    expect(locked.expiresAt).toBe(locked.lockedUntil! + POLICY.memoryMs);
    const again = fail('address', 10, { start: locked.expiresAt + 1, record: locked })!;
    expect(again.penaltyLevel).toBe(1);
  });

  it('does not extend or escalate a lock with failures recorded while it holds', () => {
    const locked = fail('address', 10)!;
    const during = fail('address', 20, { start: T0 + 10_000, record: locked })!;
    expect(during.lockedUntil).toBe(locked.lockedUntil);
    expect(during.penaltyLevel).toBe(1);
  });

  it('locks a username only for failures from two or more addresses', () => {
    const oneSource = fail('user', 30, { from: () => '203.0.113.7' })!;
    expect(oneSource.lockedUntil).toBeNull();
    const twoSources = fail('user', 10, { from: (i) => (i % 2 === 0 ? '203.0.113.7' : '198.51.100.9') })!;
    expect(twoSources.lockedUntil).toBe(T0 + 9000 + MIN);
    expect(decide(POLICY, { user: twoSources }, T0 + 10_000)).toEqual({ refuse: 'throttled_user' });
  });

  it('refuses for the address first when both are locked', () => {
    const address = fail('address', 10)!;
    const user = fail('user', 10, { from: (i) => `10.0.0.${i}` })!;
    expect(decide(POLICY, { address, user }, T0 + 10_000)).toEqual({ refuse: 'throttled_address' });
  });

  it('switches off with a zero window or penalty, and per kind with a zero threshold', () => {
    const address = fail('address', 10)!;
    expect(throttlingEnabled({ ...POLICY, windowMs: 0 })).toBe(false);
    expect(throttlingEnabled({ ...POLICY, penaltyMs: 0 })).toBe(false);
    expect(throttlingEnabled({ ...POLICY, addressFailures: 0, userFailures: 0 })).toBe(false);
    expect(decide({ ...POLICY, windowMs: 0 }, { address }, T0 + 10_000)).toEqual({ refuse: false });
    expect(decide({ ...POLICY, addressFailures: 0 }, { address }, T0 + 10_000)).toEqual({ refuse: false });
    expect(fail('address', 50, { policy: { ...POLICY, addressFailures: 0 } })!.lockedUntil).toBeNull();
  });

  it('keeps at most a threshold of failures per record', () => {
    const record = fail('user', 500, { from: () => 'one-address' })!;
    expect(record.failures).toHaveLength(10);
  });

  it('expires a record a window after its last failure when it was never locked', () => {
    const record = fail('address', 3)!;
    expect(record.expiresAt).toBe(T0 + 2000 + POLICY.windowMs);
    expect(expiryOf(POLICY, { failures: [], lockedUntil: null, penaltyLevel: 0 })).toBe(POLICY.windowMs);
  });
});

describe('throttle address keys', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    // A NAT64 address with its IPv4 part written dotted is an IPv6 address like any other.
    ['64:ff9b::198.51.100.7', '64:ff9b:0:0::/64'],
    ['not:an:address:::', 'not:an:address:::'],
  ])('%s counts as %s', (address, key) => {
    expect(throttleAddressKey(address)).toBe(key);
  });
});

describe('VerifyTimer', () => {
  it('answers the fallback until a check was timed, then one of the recent samples', () => {
    let pick = 0;
    const timer = new VerifyTimer(3, () => pick);
    expect(timer.delay(250)).toBe(250);
    for (const ms of [10, 20, 30, 40]) timer.add(ms);
    // The oldest sample (10) was replaced by 40.
    expect(timer.count).toBe(3);
    const seen = new Set<number>();
    for (pick = 0; pick < 1; pick += 0.1) seen.add(timer.delay(250));
    expect([...seen].sort()).toEqual([20, 30, 40]);
  });
});

describe('lock start, time left, the lift command', () => {
  it('a lock starts on the failure that reaches the threshold, and only then', () => {
    const before = fail('address', 9)!;
    const locked = recordFailure(POLICY, 'address', 'k', before, { at: T0 + 9000, from: 'a' });
    expect(lockStarted(before, locked, T0 + 9000)).toBe(true);
    // Another failure during the lock extends nothing and starts nothing.
    const during = recordFailure(POLICY, 'address', 'k', locked, { at: T0 + 10_000, from: 'a' });
    expect(lockStarted(locked, during, T0 + 10_000)).toBe(false);
    expect(lockStarted(undefined, fail('address', 1)!, T0)).toBe(false);
  });

  it('the second lock, after the first ended, starts too', () => {
    const first = fail('address', 10)!;
    const afterFirst = fail('address', 10, { start: first.lockedUntil! + 1000, record: first })!;
    expect(afterFirst.penaltyLevel).toBe(2);
    const previous = fail('address', 9, { start: first.lockedUntil! + 1000, record: first })!;
    expect(lockStarted(previous, afterFirst, first.lockedUntil! + 10_000)).toBe(true);
  });

  it('says how many whole seconds are left, at least 1', () => {
    expect(secondsLeft({ lockedUntil: T0 + 60_000 }, T0)).toBe(60);
    expect(secondsLeft({ lockedUntil: T0 + 59_001 }, T0)).toBe(60);
    expect(secondsLeft({ lockedUntil: T0 + 10 }, T0)).toBe(1);
  });

  it('names the chat-admin command that lifts a lock', () => {
    expect(liftCommand(POLICY, 'address', '203.0.113.7')).toBe('chat-admin throttles clear --address 203.0.113.7');
    expect(liftCommand({ ...POLICY, dbFile: '/srv/chat.db' }, 'address', '2001:db8:1:2::/64')).toBe('chat-admin throttles clear --address 2001:db8:1:2:: --db /srv/chat.db');
    expect(liftCommand(POLICY, 'user', 'shon')).toBe('chat-admin throttles clear --user shon');
    expect(throttleAddressKey('2001:db8:1:2::')).toBe('2001:db8:1:2::/64');
  });
});
