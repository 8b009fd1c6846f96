import type { Kysely } from 'kysely';
import { dialectOf } from './dialects/dialect.js';
import { StoreError } from './errors.js';
import type { Database, UserRow } from './schema.js';

/** The case-insensitive key of a username (`Shon` and `shon` are one user). */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/**
 * Inserts a user, or throws USER_EXISTS when the name (in any case) is taken.
 * ON CONFLICT DO NOTHING rather than catching the violation: on PostgreSQL a
 * failed statement aborts the whole transaction, and callers go on reading in it.
 */
export async function insertUser(
  db: Kysely<Database>,
  user: { username: string; passwordHash: string; at: string },
): Promise<UserRow> {
  const row = await db
    .insertInto('users')
    .values({
      username: user.username,
      username_key: usernameKey(user.username),
      password_hash: user.passwordHash,
      disabled: 0,
      created_at: user.at,
      updated_at: user.at,
      last_login_at: null,
    })
    .onConflict((oc) => oc.column('username_key').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (row === undefined) throw new StoreError('USER_EXISTS', `user ${user.username} already exists`);
  return row;
}

export async function findUser(db: Kysely<Database>, username: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('username_key', '=', usernameKey(username)).executeTakeFirst();
}

export async function findUserById(db: Kysely<Database>, userId: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
}

export async function getUser(db: Kysely<Database>, username: string): Promise<UserRow> {
  const user = await findUser(db, username);
  if (user === undefined) throw new StoreError('USER_NOT_FOUND', `no such user: ${username}`);
  return user;
}

/**
 * getUser that also locks the row until the transaction ends, for a change
 * that depends on what it read (disable only if enabled, audit a removal
 * once): on PostgreSQL a concurrent admin's same change waits and then sees
 * the new state; on SQLite the write lock already serialises them.
 */
export async function lockUser(db: Kysely<Database>, username: string): Promise<UserRow> {
  const user = await dialectOf(db)
    .lockRows(db.selectFrom('users').selectAll().where('username_key', '=', usernameKey(username)))
    .executeTakeFirst();
  if (user === undefined) throw new StoreError('USER_NOT_FOUND', `no such user: ${username}`);
  return user;
}

export async function listUsers(db: Kysely<Database>): Promise<UserRow[]> {
  return db.selectFrom('users').selectAll().orderBy('username_key').execute();
}

export async function countUsers(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Replaces a password hash only if it is still `oldHash` (a rehash must not
 * undo a password change made meanwhile); true if it did. The password itself
 * did not change, so `updated_at` stays.
 */
export async function replacePasswordHash(db: Kysely<Database>, userId: number, oldHash: string, newHash: string): Promise<boolean> {
  const result = await db.updateTable('users').set({ password_hash: newHash }).where('id', '=', userId).where('password_hash', '=', oldHash).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function setPasswordHash(db: Kysely<Database>, userId: number, passwordHash: string, at: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash, updated_at: at }).where('id', '=', userId).execute();
}

export async function setDisabled(db: Kysely<Database>, userId: number, disabled: boolean, at: string): Promise<void> {
  await db.updateTable('users').set({ disabled: disabled ? 1 : 0, updated_at: at }).where('id', '=', userId).execute();
}

export async function setLastLogin(db: Kysely<Database>, userId: number, at: string): Promise<void> {
  await db.updateTable('users').set({ last_login_at: at }).where('id', '=', userId).execute();
}

export async function deleteUser(db: Kysely<Database>, userId: number): Promise<void> {
  await db.deleteFrom('users').where('id', '=', userId).execute();
}
