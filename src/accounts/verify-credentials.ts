import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isValidUsername } from '../protocol/usernames.js';
import type { Database, UserRow } from '../store/schema.js';
import { findUser, replacePasswordHash } from '../store/users.js';
import type { PasswordHasher } from './hash-pool.js';
import { bcryptCostOf, MAX_PASSWORD_BYTES } from './passwords.js';

/** Why a login failed, in detail: for the audit log only. The wire gets one generic answer. */
export type CredentialFailure = 'invalid_name' | 'unknown_user' | 'bad_password' | 'disabled';

export type CredentialCheck = { ok: true; user: UserRow } | { ok: false; failure: CredentialFailure };

/**
 * The dummy hash for names that match no user, at the configured cost: a
 * cheaper dummy would make "no such user" answer faster than "wrong
 * password". Real users' hashes converge to the same cost, since a
 * successful login rehashes a password of any other cost
 * (see rehashIfOutdated), so the configured cost is what an attacker must
 * not be able to tell apart from.
 */
export class DummyHashes {
  #hash: Promise<string> | undefined;

  constructor(
    private readonly hasher: PasswordHasher,
    /** The configured bcrypt cost: the dummy's, and the one real hashes are brought to. */
    readonly cost: number,
  ) {}

  /** The dummy (made once, ahead of need; a failed attempt, say a busy pool, is retried on next use). */
  current(): Promise<string> {
    if (this.#hash === undefined) {
      const hash = this.hasher.hash(randomBytes(16).toString('hex'), this.cost);
      hash.catch(() => {
        if (this.#hash === hash) this.#hash = undefined;
      });
      this.#hash = hash;
    }
    return this.#hash;
  }

  static async create(hasher: PasswordHasher, cost: number): Promise<DummyHashes> {
    const dummies = new DummyHashes(hasher, cost);
    await dummies.current();
    return dummies;
  }
}

/**
 * After a successful login: when the stored hash has another cost than
 * `cost`, hashes the password again at `cost` and stores it, unless the
 * password was changed meanwhile (as Django and passlib do). Otherwise a
 * user hashed at another cost answers measurably slower or faster than the
 * dummy, which tells an attacker the name exists. Resolves with whether it
 * rewrote the hash.
 */
export async function rehashIfOutdated(db: Kysely<Database>, hasher: PasswordHasher, user: UserRow, password: string, cost: number): Promise<boolean> {
  if (bcryptCostOf(user.password_hash) === cost) return false;
  const fresh = await hasher.hash(password, cost);
  return replacePasswordHash(db, user.id, user.password_hash, fresh);
}

/**
 * Checks a username and password. Every path that can fail on "who" runs one
 * bcrypt compare against a dummy hash of the same cost, so an unknown or
 * malformed name takes as long as a wrong password. Disabled is only reported
 * after the right password, so it cannot be used to discover accounts.
 */
export async function verifyCredentials(
  db: Kysely<Database>,
  hasher: PasswordHasher,
  dummies: DummyHashes,
  username: string,
  password: string,
): Promise<CredentialCheck> {
  // Over-long passwords cannot match anything stored (they were refused at set time).
  const passwordUsable = password.length > 0 && Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
  const user = isValidUsername(username) ? await findUser(db, username) : undefined;
  const matches = await hasher.compare(passwordUsable ? password : '', user?.password_hash ?? (await dummies.current()));
  if (!isValidUsername(username)) return { ok: false, failure: 'invalid_name' };
  if (user === undefined) return { ok: false, failure: 'unknown_user' };
  if (!matches || !passwordUsable) return { ok: false, failure: 'bad_password' };
  if (user.disabled !== 0) return { ok: false, failure: 'disabled' };
  return { ok: true, user };
}
