import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isValidUsername } from '../protocol/usernames.js';
import type { Database, UserRow } from '../store/schema.js';
import { findUser, latestPasswordHash } from '../store/users.js';
import type { PasswordHasher } from './hash-pool.js';
import { bcryptCostOf, MAX_PASSWORD_BYTES } from './passwords.js';

/** Why a login failed, in detail: for the audit log only. The wire gets one generic answer. */
export type CredentialFailure = 'invalid_name' | 'unknown_user' | 'bad_password' | 'disabled';

export type CredentialCheck = { ok: true; user: UserRow } | { ok: false; failure: CredentialFailure };

/**
 * Dummy hashes for names that match no user, at the cost real users' hashes
 * have: a cheaper dummy would make "no such user" answer faster than "wrong
 * password". The cost follows the hashes actually compared, so it stays right
 * when an admin changes the cost while the server runs.
 */
export class DummyHashes {
  readonly #byCost = new Map<number, Promise<string>>();
  #cost: number;

  constructor(
    private readonly hasher: PasswordHasher,
    initialCost: number,
  ) {
    this.#cost = initialCost;
    this.#prepare(initialCost);
  }

  /** A dummy of the current cost (made once per cost, ahead of need). */
  current(): Promise<string> {
    return this.#prepare(this.#cost);
  }

  /** A real user's hash was compared: dummies match its cost from now on. */
  observe(realHash: string): void {
    const cost = bcryptCostOf(realHash);
    if (cost === undefined || cost === this.#cost) return;
    this.#cost = cost;
    void this.#prepare(cost).catch(() => undefined);
  }

  #prepare(cost: number): Promise<string> {
    let hash = this.#byCost.get(cost);
    if (hash === undefined) {
      hash = this.hasher.hash(randomBytes(16).toString('hex'), cost);
      // A failed attempt (busy pool) is retried on next use.
      hash.catch(() => this.#byCost.delete(cost));
      this.#byCost.set(cost, hash);
    }
    return hash;
  }

  /** Starting cost: that of the most recently set password, else `defaultCost`. */
  static async create(db: Kysely<Database>, hasher: PasswordHasher, defaultCost: number): Promise<DummyHashes> {
    const latest = await latestPasswordHash(db);
    const dummies = new DummyHashes(hasher, (latest === undefined ? undefined : bcryptCostOf(latest)) ?? defaultCost);
    await dummies.current();
    return dummies;
  }
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
  if (user !== undefined) dummies.observe(user.password_hash);
  const matches = await hasher.compare(passwordUsable ? password : '', user?.password_hash ?? (await dummies.current()));
  if (!isValidUsername(username)) return { ok: false, failure: 'invalid_name' };
  if (user === undefined) return { ok: false, failure: 'unknown_user' };
  if (!matches || !passwordUsable) return { ok: false, failure: 'bad_password' };
  if (user.disabled !== 0) return { ok: false, failure: 'disabled' };
  return { ok: true, user };
}
