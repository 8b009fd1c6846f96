import type { Kysely } from 'kysely';
import { HasherBusyError, type PasswordHasher } from '../accounts/hash-pool.js';
import { rehashIfOutdated, verifyCredentials, type DummyHashes } from '../accounts/verify-credentials.js';
import { bcryptCostOf } from '../accounts/passwords.js';
import type { LoginFailReason } from '../protocol/messages.js';
import { escapeForLog } from '../protocol/sanitize.js';
import { appendAudit, newAuditEntry, sessionEndEntry } from '../store/audit.js';
import { consumeResumeToken, issueResumeToken, newResumeToken, revokeResumeTokens } from '../store/resume-tokens.js';
import type { Database, NewSessionRow, ResumeTokenRow, SessionRow, UserRow } from '../store/schema.js';
import { requestTakeover } from '../store/session-takeovers.js';
import { claimSession, findSessionByUser, releaseSessions } from '../store/sessions.js';
import { findThrottles, loggedInFromSince, pruneThrottles, throttleAddressKey, updateThrottles, type ThrottleRecord } from '../store/throttles.js';
import { findUserById, setLastLogin, usernameKey } from '../store/users.js';
import { pinInstance } from '../store/instances.js';
import { writeTransaction } from '../store/open-store.js';
import { isValidUsername } from '../protocol/usernames.js';
import type { CredentialFailure } from '../accounts/verify-credentials.js';
import type { Logger } from './log.js';
import type { Presence, Seat } from './presence.js';
import { decide, liftCommand, lockStarted, recordFailure, secondsLeft, throttlingEnabled, VerifyTimer, type ThrottlePolicy } from './login-throttle.js';
import { settleWithin } from '../util/settle-within.js';
import { WorkGate } from './work-gate.js';

export interface LoginAttempt {
  username: string;
  password: string;
  peerAddress: string;
  mode: 'text' | 'json';
  sessionId: string;
}

/** A `resume` instead of a login: the token from an earlier `login_ok`. */
export interface ResumeAttempt {
  token: string;
  peerAddress: string;
  sessionId: string;
}

/** How resumption runs on this server. */
export interface ResumePolicy {
  /** Token lifetime; 0 = resumption off (no tokens, every resume refused). */
  ttlMs: number;
  /** Resumes whose store transaction may run at once. */
  running: number;
  /** Resumes that may wait for one of those (the login queue's bound, in resumes); past it `server_busy`. */
  waiting: number;
  /** Ends this server's connection holding the session (bye `replaced`); false when none holds it. */
  endLocal(sessionId: string): boolean;
}

export const RESUME_OFF: ResumePolicy = { ttlMs: 0, running: 1, waiting: 0, endLocal: () => false };

/** A successful login holds its seat: whoever gets the verdict must enter it or leave it. `resume` is the token for the client, if any. */
export type LoginVerdict = { ok: true; username: string; seat: Seat; resume?: string } | { ok: false; reason: LoginFailReason; retryAfter?: number; message?: string };

/** Failures that say something about the password guessed, and so count towards a throttle. */
const COUNTED_FAILURES: ReadonlySet<CredentialFailure> = new Set(['invalid_name', 'unknown_user', 'bad_password']);

/**
 * How long a successful login waits on its claim (row, last login and audit
 * in one transaction) once its password is checked; past it the answer is
 * `server_busy`, which costs no attempt, and a claim that commits later gives
 * its seat back at once. A failed login's writes are bounded by the busy
 * timeout instead (a store that gives up answers `server_busy` too): a shorter
 * bound there turned a merely slow store, under a guessing storm, into busy
 * answers.
 */
export const LOGIN_STORE_WAIT_MS = 3000;

const EXCEEDED = Symbol('store wait exceeded');
/** Thrown to roll a resume back: a login took the seat between our release and our claim. */
const SEAT_RACE = Symbol('seat taken meanwhile');

type ResumeClaim =
  | { kind: 'invalid'; detail: string; username: string | null }
  | { kind: 'claimed'; user: UserRow; token: string; replaced: SessionRow | undefined; used: ResumeTokenRow };

/** The work's result, or EXCEEDED at `deadline` (epoch ms) if it has not settled; the work itself goes on. */
function within<T>(work: Promise<T>, deadline: number): Promise<T | typeof EXCEEDED> {
  return settleWithin(work, deadline - Date.now(), () => EXCEEDED);
}

/** Used as the throttled answer's delay until a real check has been timed. */
const FALLBACK_VERIFY_MS = 250;

/**
 * Turns a login attempt into a verdict: the throttles, credentials, then the
 * one-session claim in the database, and an audit row committed before the
 * answer goes out. The wire sees only the generic reasons; the audit keeps
 * the detail. A throttled attempt runs no bcrypt but is answered like a wrong
 * password, after about as long as a real check takes.
 */
export class LoginService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly presence: Presence,
    private readonly hasher: PasswordHasher,
    private readonly dummies: DummyHashes,
    private readonly instanceId: string,
    private readonly logger: Logger,
    private readonly clock: () => Date,
    private readonly throttle: ThrottlePolicy,
    private readonly resumption: ResumePolicy = RESUME_OFF,
    private readonly timer = new VerifyTimer(),
  ) {
    this.#resumes = new WorkGate(resumption.running, resumption.waiting);
  }

  readonly #resumes: WorkGate;
  /** A background rehash is running (see #rehash). */
  #rehashing = false;

  async attempt(attempt: LoginAttempt): Promise<LoginVerdict> {
    const shownName = escapeForLog(attempt.username, 64);
    const fail = async (reason: LoginFailReason, detail: string, explained: { retryAfter?: number; message?: string } = {}): Promise<LoginVerdict> => {
      await appendAudit(this.db, this.#auditEntry(attempt, 'failed', detail, shownName));
      if (reason !== 'server_busy') this.logger.failedLogin(attempt.username, attempt.peerAddress);
      return { ok: false, reason, ...explained };
    };

    const throttled = throttlingEnabled(this.throttle);
    const addressKey = throttleAddressKey(attempt.peerAddress);
    // An exempt address (fail2ban's ignoreip) is never counted or locked as an address; its username still is.
    const addressCounted = this.throttle.exempt?.contains(attempt.peerAddress) !== true;
    const userKey = isValidUsername(attempt.username) ? usernameKey(attempt.username) : undefined;
    if (throttled) {
      const refusal = await this.#throttleRefusal(addressCounted ? addressKey : undefined, userKey, attempt.peerAddress);
      if (refusal !== undefined) {
        // The wait stands in for the bcrypt run skipped, so that a lock cannot be told from a wrong password.
        await new Promise((resolve) => setTimeout(resolve, this.timer.delay(FALLBACK_VERIFY_MS)));
        // An address lock is about the address alone, so it may say so; a username lock keeps the generic answer.
        if (refusal.reason === 'throttled_user' || refusal.retryAfter === undefined) return fail('invalid_credentials', refusal.reason);
        return fail('invalid_credentials', refusal.reason, { retryAfter: refusal.retryAfter, message: addressLockMessage(refusal.retryAfter) });
      }
    }

    // A full queue is refused before any database work: a storm's retries must stay cheap.
    if (this.hasher.saturated) return fail('server_busy', 'server_busy');
    let check;
    const started = performance.now();
    try {
      check = await verifyCredentials(this.db, this.hasher, this.dummies, attempt.username, attempt.password);
    } catch (error) {
      if (error instanceof HasherBusyError) return fail('server_busy', 'server_busy');
      throw error;
    }
    this.timer.add(performance.now() - started);
    if (!check.ok) {
      if (throttled && COUNTED_FAILURES.has(check.failure)) await this.#countFailure(addressCounted ? addressKey : undefined, userKey, attempt.peerAddress);
      return fail(check.failure === 'disabled' ? 'disabled' : 'invalid_credentials', check.failure);
    }

    const user = check.user;
    const now = this.clock();
    const at = now.toISOString();
    const token = this.#tokenFor(attempt.mode);
    const row = {
      id: attempt.sessionId,
      user_id: user.id,
      username: user.username,
      username_key: user.username_key,
      instance_id: this.instanceId,
      peer_address: attempt.peerAddress,
      mode: attempt.mode,
      connected_at: at,
      last_activity_at: at,
      end_request: null,
      end_request_note: null,
      end_requested_by: null,
    };
    // Claim, last login and audit commit together: a failure in any leaves no row behind to strand the user.
    const claiming = writeTransaction(this.db, async (trx) => {
      let result = await claimSession(trx, row);
      if (result === 'already_logged_in') {
        // A row of this very server that no connection holds (its end is still queued for a busy store) is taken over.
        const existing = await findSessionByUser(trx, user.username);
        if (existing === undefined || existing.instance_id !== this.instanceId || this.presence.holds(existing.id)) return result;
        await releaseSessions(trx, [{ id: existing.id }]);
        result = await claimSession(trx, row);
        if (result === 'already_logged_in') return result;
      }
      await setLastLogin(trx, user.id, at);
      await this.#renewToken(trx, user, attempt.sessionId, attempt.mode, now.getTime(), token);
      await appendAudit(trx, this.#auditEntry(attempt, 'ok', null, user.username));
      return result;
    });
    const seatOf = () => this.presence.claim({ sessionId: attempt.sessionId, username: user.username, peerAddress: attempt.peerAddress, mode: attempt.mode, connectedAt: now.getTime() });
    const claim = await within(claiming, Date.now() + LOGIN_STORE_WAIT_MS);
    if (claim === EXCEEDED) {
      // Answered busy already: should the claim still commit, its seat is given back (and its end audited) at once.
      claiming.then(
        (late) => {
          if (late === 'claimed') seatOf().leave('disconnected');
        },
        () => undefined,
      );
      this.logger.error('store_busy', { during: 'login_claim', peer: attempt.peerAddress, waited_ms: LOGIN_STORE_WAIT_MS });
      return { ok: false, reason: 'server_busy' };
    }
    if (claim === 'already_logged_in') return fail('already_logged_in', 'already_logged_in');
    this.#rehash(user, attempt.password);
    return { ok: true, username: user.username, seat: seatOf(), ...(token === undefined ? {} : { resume: token }) };
  }

  /**
   * A `resume`: the token is taken out of the store (once, atomically), and
   * in the same transaction the user's seat is claimed, a new token issued
   * and the login audited (detail `resume`). A session still holding the seat
   * is replaced: its row released; if it is another instance's, that instance
   * is asked (session_takeovers) to end the old connection and the old
   * session's end is audited here; if it is ours, it is ended after the
   * commit. Every refusal is `resume_invalid` (or `server_busy`), which costs
   * no attempt and is never counted by the throttles: a token is not a
   * password, and 256 random bits cannot be guessed.
   */
  async resume(attempt: ResumeAttempt): Promise<LoginVerdict> {
    const audited = (outcome: 'ok' | 'failed', reason: string | null, username: string | null, detail = 'resume') =>
      newAuditEntry({ ts: this.clock().toISOString(), event: 'login', username, outcome, reason, peer_address: attempt.peerAddress, mode: 'json', instance_id: this.instanceId, session_id: attempt.sessionId, detail });
    const fail = async (detail: string, username: string | null, reason: LoginFailReason = 'resume_invalid'): Promise<LoginVerdict> => {
      await appendAudit(this.db, audited('failed', detail, username));
      return { ok: false, reason };
    };
    if (this.resumption.ttlMs === 0) return fail('resume_off', null);
    // An address locked for guessing passwords is refused before the token is looked at (the client then meets the lock, explained, with its password).
    if (throttlingEnabled(this.throttle) && this.throttle.exempt?.contains(attempt.peerAddress) !== true) {
      const records = await findThrottles(this.db, { address: throttleAddressKey(attempt.peerAddress) });
      if (decide(this.throttle, { address: byKind(records, 'address') }, this.clock().getTime()).refuse === 'throttled_address') return fail('throttled_address', null);
    }
    // Its wait in line does not count towards the claim's store bound, which starts with the transaction.
    const verdict = this.#resumes.run(() => this.#resume(attempt, audited));
    return verdict ?? fail('server_busy', null, 'server_busy');
  }

  async #resume(attempt: ResumeAttempt, audited: (outcome: 'ok' | 'failed', reason: string | null, username: string | null, detail?: string) => ReturnType<typeof newAuditEntry>): Promise<LoginVerdict> {
    const now = this.clock();
    const at = now.toISOString();
    const claiming = writeTransaction(this.db, async (trx): Promise<ResumeClaim> => {
      const taken = await consumeResumeToken(trx, attempt.token, now.getTime());
      if (taken === undefined) return { kind: 'invalid', detail: 'resume_unknown', username: null };
      const user = await findUserById(trx, taken.row.user_id);
      if (taken.expired || user === undefined || user.disabled === 1) {
        const detail = taken.expired ? 'resume_expired' : user === undefined ? 'unknown_user' : 'disabled';
        return { kind: 'invalid', detail, username: user?.username ?? taken.row.username_key };
      }
      let replaced = await this.#sessionToReplace(trx, user.username);
      // Released by us, or it ended by itself in the meantime (its own server took the row out and audited that end: nothing to replace).
      if (replaced !== undefined && !(await releaseSessions(trx, [{ id: replaced.id }])).has(replaced.id)) replaced = undefined;
      if (replaced !== undefined) {
        if (replaced.instance_id !== this.instanceId) {
          // Its instance may be dead (nobody would write its end) or alive (it ends the connection and writes no end): either way the end is written here, once.
          await requestTakeover(trx, { session_id: replaced.id, instance_id: replaced.instance_id, by_session_id: attempt.sessionId, requested_at: at });
          const old = { sessionId: replaced.id, username: replaced.username, peerAddress: replaced.peer_address, mode: replaced.mode, instanceId: replaced.instance_id, connectedAt: Date.parse(replaced.connected_at) };
          await appendAudit(trx, sessionEndEntry(old, 'replaced', now.getTime(), `resumed as session ${attempt.sessionId} on instance ${this.instanceId}`));
        }
      }
      if ((await claimSession(trx, this.#sessionRow(attempt.sessionId, user, attempt.peerAddress, 'json', at))) !== 'claimed') throw SEAT_RACE;
      await setLastLogin(trx, user.id, at);
      const token = newResumeToken();
      await this.#renewToken(trx, user, attempt.sessionId, 'json', now.getTime(), token);
      await appendAudit(trx, audited('ok', null, user.username, replaced === undefined ? 'resume' : `resume, replaced session ${replaced.id}`));
      return { kind: 'claimed', user, token, replaced, used: taken.row };
    });
    const seatOf = (user: UserRow) => this.presence.claim({ sessionId: attempt.sessionId, username: user.username, peerAddress: attempt.peerAddress, mode: 'json', connectedAt: now.getTime() });
    // The old connection here goes before the new one enters: the others see it leave, then come back.
    const endReplaced = (claim: ResumeClaim): void => {
      if (claim.kind === 'claimed' && claim.replaced?.instance_id === this.instanceId) this.resumption.endLocal(claim.replaced.id);
    };
    let claim: ResumeClaim | typeof EXCEEDED;
    try {
      claim = await within(claiming, Date.now() + LOGIN_STORE_WAIT_MS);
    } catch (error) {
      if (error === SEAT_RACE) return { ok: false, reason: 'server_busy' };
      throw error;
    }
    if (claim === EXCEEDED) {
      claiming.then(
        (late) => {
          endReplaced(late);
          if (late.kind !== 'claimed') return;
          seatOf(late.user).leave('disconnected');
          // The client was told busy and will try the same token again: it is put back (the next one never reached it).
          const { used } = late;
          issueResumeToken(this.db, { token: attempt.token, userId: used.user_id, usernameKey: used.username_key, sessionId: used.session_id, at: Date.parse(used.issued_at), ttlMs: Date.parse(used.expires_at) - Date.parse(used.issued_at) }).catch(
            (error: unknown) => this.logger.error('store_error', { during: 'resume_token_restore', error: error instanceof Error ? error.message : String(error) }),
          );
        },
        () => undefined,
      );
      this.logger.error('store_busy', { during: 'resume_claim', peer: attempt.peerAddress, waited_ms: LOGIN_STORE_WAIT_MS });
      return { ok: false, reason: 'server_busy' };
    }
    if (claim.kind === 'invalid') {
      await appendAudit(this.db, audited('failed', claim.detail, claim.username));
      return { ok: false, reason: 'resume_invalid' };
    }
    endReplaced(claim);
    return { ok: true, username: claim.user.username, seat: seatOf(claim.user), resume: claim.token };
  }

  /**
   * The user's live session row, if any, for a resume to replace. A row of
   * another instance is read again after that instance's row is pinned: an
   * instance being reaped (a dead one's sessions cleared) is locked before
   * its sessions, so a resume locks in the same order (it would deadlock
   * with the reaper if it took the session row first, and wait a second for
   * PostgreSQL to break it). Once the reaper commits, the row is gone, and
   * the reaper has audited its end.
   */
  async #sessionToReplace(trx: Kysely<Database>, username: string): Promise<SessionRow | undefined> {
    let row = await findSessionByUser(trx, username);
    for (let tries = 0; tries < 3 && row !== undefined && row.instance_id !== this.instanceId; tries += 1) {
      const holder = row.instance_id;
      const pinned = await pinInstance(trx, holder);
      // Read again under the pin (or after the reap it waited for).
      row = await findSessionByUser(trx, username);
      if (pinned && row?.instance_id === holder) return row;
    }
    return row;
  }

  /** A token for this login's client, or undefined (resumption off, or text mode, which has no way to use one). */
  #tokenFor(mode: 'text' | 'json'): string | undefined {
    return this.resumption.ttlMs > 0 && mode === 'json' ? newResumeToken() : undefined;
  }

  /** The user's token becomes this login's (or none): an older client's token must not take over a newer session. */
  async #renewToken(trx: Kysely<Database>, user: UserRow, sessionId: string, mode: 'text' | 'json', at: number, token: string | undefined): Promise<void> {
    if (token === undefined || mode !== 'json') {
      await revokeResumeTokens(trx, { usernameKey: user.username_key });
      return;
    }
    await issueResumeToken(trx, { token, userId: user.id, usernameKey: user.username_key, sessionId, at, ttlMs: this.resumption.ttlMs });
  }

  #sessionRow(sessionId: string, user: UserRow, peerAddress: string, mode: 'text' | 'json', at: string): NewSessionRow {
    return {
      id: sessionId,
      user_id: user.id,
      username: user.username,
      username_key: user.username_key,
      instance_id: this.instanceId,
      peer_address: peerAddress,
      mode,
      connected_at: at,
      last_activity_at: at,
      end_request: null,
      end_request_note: null,
      end_requested_by: null,
    };
  }

  /**
   * In the background (the login does not wait): a hash of another cost is
   * brought to the configured one. It must never take the hash workers from
   * logins: one at a time, and only while no other password work waits or
   * runs; otherwise it is skipped and the user's next login tries again.
   * (After a cost change, a reconnect storm would otherwise queue a cost-12
   * rehash, 0.3 s of a core, behind every login: 1000 users took minutes to
   * get in, told `server_busy` meanwhile.)
   */
  #rehash(user: UserRow, password: string): void {
    const from = bcryptCostOf(user.password_hash);
    if (from === this.dummies.cost || this.#rehashing || this.hasher.pending > 0) return;
    this.#rehashing = true;
    rehashIfOutdated(this.db, this.hasher, user, password, this.dummies.cost)
      .finally(() => {
        this.#rehashing = false;
      })
      .then(
        (done) => {
          if (done) this.logger.info('rehashed', { user: user.username, from_cost: from, to_cost: this.dummies.cost });
        },
        (error: unknown) => {
          if (!(error instanceof HasherBusyError)) this.logger.error('rehash_error', { user: user.username, error: error instanceof Error ? error.message : String(error) });
        },
      );
  }

  #auditEntry(attempt: LoginAttempt, outcome: 'ok' | 'failed', reason: string | null, username: string) {
    return newAuditEntry({
      ts: this.clock().toISOString(),
      event: 'login',
      username,
      outcome,
      reason,
      peer_address: attempt.peerAddress,
      mode: attempt.mode,
      instance_id: this.instanceId,
      session_id: attempt.sessionId,
    });
  }

  /** The audit reason to refuse with, or undefined to go on: one primary-key read, plus an audit read only for a locked username. */
  async #throttleRefusal(
    addressKey: string | undefined,
    userKey: string | undefined,
    peerAddress: string,
  ): Promise<{ reason: 'throttled_address' | 'throttled_user'; retryAfter?: number } | undefined> {
    if (addressKey === undefined && userKey === undefined) return undefined;
    const now = this.clock().getTime();
    const records = await findThrottles(this.db, { address: addressKey, user: userKey });
    const address = byKind(records, 'address');
    const verdict = decide(this.throttle, { address, user: byKind(records, 'user') }, now);
    if (verdict.refuse === 'throttled_address') return { reason: 'throttled_address', retryAfter: secondsLeft(address!, now) };
    if (verdict.refuse !== 'throttled_user') return undefined;
    if (userKey === undefined || this.throttle.trustMs === 0) return { reason: 'throttled_user' };
    const trusted = await loggedInFromSince(this.db, userKey, peerAddress, now - this.throttle.trustMs);
    return trusted ? undefined : { reason: 'throttled_user' };
  }

  /**
   * Counts one failure against the address and the username, each row locked,
   * read and written in one write transaction so that servers sharing the
   * database never lose a count; expired rows are pruned on the way. A store error here is logged,
   * not turned into a different answer.
   */
  async #countFailure(addressKey: string | undefined, userKey: string | undefined, peerAddress: string): Promise<void> {
    const at = this.clock().getTime();
    try {
      const started = await writeTransaction(this.db, async (trx) => {
        const counted = {
          address: addressKey !== undefined && this.throttle.addressFailures > 0 ? addressKey : undefined,
          user: userKey !== undefined && this.throttle.userFailures > 0 ? userKey : undefined,
        };
        // The rows are locked as they are read (updateThrottles), so concurrent failures on other connections or servers each count.
        const changes = await updateThrottles(trx, counted, (kind, key, previous) =>
          recordFailure(this.throttle, kind, key, previous, { at, from: kind === 'address' ? (userKey ?? '') : throttleAddressKey(peerAddress) }),
        );
        await pruneThrottles(trx, at);
        return changes.filter(({ previous, next }) => lockStarted(previous, next, at)).map(({ next }) => next);
      });
      // Each lock is logged once, as it begins, with the command that lifts it.
      for (const lock of started) {
        this.logger.info('throttle_lock', {
          kind: lock.kind,
          key: lock.key,
          seconds: secondsLeft(lock, at),
          level: lock.penaltyLevel,
          until: new Date(lock.lockedUntil!).toISOString(),
          lift: liftCommand(this.throttle, lock.kind, lock.key),
        });
      }
    } catch (error) {
      this.logger.error('throttle_error', { peer: peerAddress, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

/** What a client hears when its address is locked (the Ergo way): nothing about any username. */
export function addressLockMessage(seconds: number): string {
  return `too many failed logins from your address, try again in ${seconds} s`;
}

function byKind(records: readonly ThrottleRecord[], kind: ThrottleRecord['kind']): ThrottleRecord | undefined {
  return records.find((record) => record.kind === kind);
}
