import type { Kysely } from 'kysely';
import { appendAudit, appendAuditMany, newAuditEntry, type AuditEntry } from '../store/audit.js';
import { StoreError } from '../store/errors.js';
import { writeTransaction } from '../store/open-store.js';
import type { AuditEvent, Database, EndRequest, SessionRow, UserRow } from '../store/schema.js';
import { revokeResumeTokens } from '../store/resume-tokens.js';
import { findSessionByUser, requestSessionEnd } from '../store/sessions.js';
import { deleteThrottles, type ThrottleKeys, type ThrottleRecord } from '../store/throttles.js';
import { deleteUser, findUser, getUser, insertUser, lockUser, setDisabled, setPasswordHash } from '../store/users.js';
import { assertValidUsername } from './passwords.js';

/**
 * Admin operations on accounts. Each runs in one write transaction together
 * with its audit row, so a change is never recorded without happening or the
 * reverse. Passwords arrive already hashed: hashing is slow and must not run
 * while the write lock is held.
 */

export interface AdminContext {
  /** Who is acting (the OS user of chat-admin), recorded in the audit log. */
  actor: string;
  now: () => Date;
}

export interface NewAccount {
  username: string;
  passwordHash: string;
  /** The import line it came from, named in errors. */
  line?: number;
}

export async function addUser(db: Kysely<Database>, account: NewAccount, ctx: AdminContext): Promise<UserRow> {
  const [user] = await insertAccounts(db, [account], ctx, null);
  return user!;
}

/** All or nothing: the first existing name fails the whole import. */
export async function importUsers(db: Kysely<Database>, accounts: readonly NewAccount[], ctx: AdminContext): Promise<UserRow[]> {
  return insertAccounts(db, accounts, ctx, 'import');
}

/**
 * Fails with USER_EXISTS on the first account whose name is taken. A check
 * before hashing, so that a long import fails fast; the insert still decides
 * races.
 */
export async function assertAccountsAbsent(db: Kysely<Database>, accounts: readonly Omit<NewAccount, 'passwordHash'>[]): Promise<void> {
  for (const account of accounts) {
    const existing = await findUser(db, account.username);
    if (existing !== undefined) throw userExists(account, existing.username);
  }
}

export interface RemoveResult {
  /** The name as stored (the admin may have typed another case). */
  username: string;
  /** Whether a live session was asked to end. */
  sessionAsked: boolean;
  /** That session (where it lives, to signal its server). */
  session?: SessionRow;
}

export async function removeUser(db: Kysely<Database>, username: string, ctx: AdminContext): Promise<RemoveResult> {
  return writeTransaction(db, async (trx) => {
    const user = await lockUser(trx, username);
    const session = await askSessionEnd(trx, user.username, 'removed', null, ctx);
    await revokeResumeTokens(trx, { usernameKey: user.username_key });
    await deleteUser(trx, user.id);
    await appendAudit(trx, auditEntry('user_remove', user.username, ctx, { session }));
    return { username: user.username, sessionAsked: session !== undefined, session };
  });
}

/** Returns the name as stored. */
export async function changePassword(db: Kysely<Database>, username: string, passwordHash: string, ctx: AdminContext): Promise<string> {
  return writeTransaction(db, async (trx) => {
    const user = await lockUser(trx, username);
    await setPasswordHash(trx, user.id, passwordHash, ctx.now().toISOString());
    // A resume token stands for the old password's login: it goes with it (the live session itself stays).
    await revokeResumeTokens(trx, { usernameKey: user.username_key });
    await appendAudit(trx, auditEntry('user_passwd', user.username, ctx));
    return user.username;
  });
}

export interface DisableResult extends RemoveResult {
  /** False when the user already was in the requested state (nothing written). */
  changed: boolean;
}

/** Disabling also asks the user's live session to end; a disabled user cannot log in. */
export async function setUserDisabled(db: Kysely<Database>, username: string, disabled: boolean, ctx: AdminContext): Promise<DisableResult> {
  return writeTransaction(db, async (trx) => {
    const user = await lockUser(trx, username);
    if ((user.disabled === 1) === disabled) return { username: user.username, changed: false, sessionAsked: false };
    await setDisabled(trx, user.id, disabled, ctx.now().toISOString());
    const session = disabled ? await askSessionEnd(trx, user.username, 'disabled', null, ctx) : undefined;
    if (disabled) await revokeResumeTokens(trx, { usernameKey: user.username_key });
    await appendAudit(trx, auditEntry(disabled ? 'user_disable' : 'user_enable', user.username, ctx, { session }));
    return { username: user.username, changed: true, sessionAsked: session !== undefined, session };
  });
}

/**
 * Asks the server owning the user's live session to end it. Returns that
 * session, or undefined, writing nothing, when the user has no live session.
 */
export async function kickUser(db: Kysely<Database>, username: string, reason: string | null, ctx: AdminContext): Promise<SessionRow | undefined> {
  return writeTransaction(db, async (trx) => {
    const user = await getUser(trx, username);
    const session = await askSessionEnd(trx, user.username, 'kicked', reason, ctx);
    if (session === undefined) return undefined;
    // The kicked client must not come straight back with its token.
    await revokeResumeTokens(trx, { usernameKey: user.username_key });
    await appendAudit(trx, auditEntry('kick', user.username, ctx, { session, detail: reason }));
    return session;
  });
}

/**
 * Deletes login throttles (an address's, a username's, or all) and audits one
 * `throttle_clear` row per deleted throttle. Returns what was deleted; nothing
 * deleted writes no audit row.
 */
export async function clearThrottles(db: Kysely<Database>, which: ThrottleKeys | 'all', ctx: AdminContext): Promise<ThrottleRecord[]> {
  return writeTransaction(db, async (trx) => {
    const cleared = await deleteThrottles(trx, which);
    await appendAuditMany(
      trx,
      cleared.map((record) =>
        newAuditEntry({
          ts: ctx.now().toISOString(),
          event: 'throttle_clear',
          username: record.kind === 'user' ? record.key : null,
          peer_address: record.kind === 'address' ? record.key : null,
          actor: ctx.actor,
          detail: `${record.kind} ${record.key}, penalty level ${record.penaltyLevel}`,
        }),
      ),
    );
    return cleared;
  });
}

async function insertAccounts(
  db: Kysely<Database>,
  accounts: readonly NewAccount[],
  ctx: AdminContext,
  detail: string | null,
): Promise<UserRow[]> {
  for (const account of accounts) assertValidUsername(account.username);
  return writeTransaction(db, async (trx) => {
    const at = ctx.now().toISOString();
    const users: UserRow[] = [];
    for (const account of accounts) {
      users.push(await insertAccount(trx, account, at));
    }
    await appendAuditMany(
      trx,
      users.map((user) => auditEntry('user_add', user.username, ctx, { detail })),
    );
    return users;
  });
}

async function insertAccount(trx: Kysely<Database>, account: NewAccount, at: string): Promise<UserRow> {
  try {
    return await insertUser(trx, { username: account.username, passwordHash: account.passwordHash, at });
  } catch (error) {
    if (!(error instanceof StoreError && error.code === 'USER_EXISTS')) throw error;
    // insertUser refused without a failed statement: the transaction can still read the name as stored.
    const existing = await findUser(trx, account.username);
    throw userExists(account, existing?.username ?? account.username, error);
  }
}

function userExists(account: Omit<NewAccount, 'passwordHash'>, existingName: string, cause?: unknown): StoreError {
  const where = account.line === undefined ? '' : `line ${account.line}: `;
  const spelled = existingName === account.username ? '' : ` (as ${existingName})`;
  return new StoreError('USER_EXISTS', `${where}user ${account.username} already exists${spelled}`, { cause });
}

async function askSessionEnd(
  trx: Kysely<Database>,
  username: string,
  kind: EndRequest,
  note: string | null,
  ctx: AdminContext,
): Promise<SessionRow | undefined> {
  const session = await findSessionByUser(trx, username);
  if (session === undefined) return undefined;
  await requestSessionEnd(trx, username, { kind, note, by: ctx.actor });
  return session;
}

function auditEntry(
  event: AuditEvent,
  username: string,
  ctx: AdminContext,
  extra: { session?: SessionRow | undefined; detail?: string | null } = {},
): AuditEntry {
  return newAuditEntry({
    ts: ctx.now().toISOString(),
    event,
    username,
    actor: ctx.actor,
    detail: extra.detail ?? null,
    session_id: extra.session?.id ?? null,
    instance_id: extra.session?.instance_id ?? null,
    peer_address: extra.session?.peer_address ?? null,
  });
}
