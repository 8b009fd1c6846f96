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
 * Checks a username and password. Every path that can fail on "who" runs one
 * bcrypt compare against a dummy hash of the same cost, so an unknown or
 * malformed name takes as long as a wrong password. Disabled is only reported
 * after the right password, so it cannot be used to discover accounts.
 */
export async function verifyCredentials(
  db: Kysely<Database>,
  hasher: PasswordHasher,
  dummyHash: string,
  username: string,
  password: string,
): Promise<CredentialCheck> {
  // Over-long passwords cannot match anything stored (they were refused at set time).
  const passwordUsable = password.length > 0 && Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
  const user = isValidUsername(username) ? await findUser(db, username) : undefined;
  const matches = await hasher.compare(passwordUsable ? password : '', user?.password_hash ?? dummyHash);
  if (!isValidUsername(username)) return { ok: false, failure: 'invalid_name' };
  if (user === undefined) return { ok: false, failure: 'unknown_user' };
  if (!matches || !passwordUsable) return { ok: false, failure: 'bad_password' };
  if (user.disabled !== 0) return { ok: false, failure: 'disabled' };
  return { ok: true, user };
}

/**
 * A hash of a random secret at the cost real users' hashes have (the most
 * recently set one), falling back to `defaultCost` on an empty database.
 */
export async function makeDummyHash(db: Kysely<Database>, hasher: PasswordHasher, defaultCost: number): Promise<string> {
  const latest = await latestPasswordHash(db);
  const cost = (latest === undefined ? undefined : bcryptCostOf(latest)) ?? defaultCost;
  return hasher.hash(randomBytes(16).toString('hex'), cost);
}
