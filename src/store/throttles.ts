import type { Kysely } from 'kysely';
import { dialectOf } from './dialects/dialect.js';
import type { Database, ThrottleKind, ThrottleRow } from './schema.js';
import { ipv6Bytes, ipv6Groups, unmapIPv4 } from '../util/ip-address.js';

/** One failed login as a throttle row remembers it. */
export interface ThrottleFailure {
  /** Milliseconds since the epoch. */
  at: number;
  /** The other side of the attempt: the username for an address row, the address for a user row. */
  from: string;
}

/** A `login_throttles` row with its JSON and times decoded. */
export interface ThrottleRecord {
  kind: ThrottleKind;
  key: string;
  /** Oldest first. */
  failures: ThrottleFailure[];
  windowMs: number;
  penaltyLevel: number;
  /** Milliseconds since the epoch; null when never locked. */
  lockedUntil: number | null;
  updatedAt: number;
  expiresAt: number;
}

export interface ThrottleKeys {
  address?: string;
  /** Already a username key (lower case). */
  user?: string;
}

/** The rows for one address and one username key: a single primary-key read. */
export async function findThrottles(db: Kysely<Database>, keys: ThrottleKeys): Promise<ThrottleRecord[]> {
  const wanted = keyList(keys);
  if (wanted.length === 0) return [];
  const rows = await db
    .selectFrom('login_throttles')
    .selectAll()
    .where((eb) => eb.or(wanted.map(([kind, key]) => eb.and([eb('kind', '=', kind), eb('key', '=', key)]))))
    .execute();
  return rows.map(decodeThrottle);
}

/** Rows that still matter at `now`, locked ones first, then by key. */
export async function listThrottles(db: Kysely<Database>, now: number): Promise<ThrottleRecord[]> {
  const rows = await db
    .selectFrom('login_throttles')
    .selectAll()
    .where('expires_at', '>', new Date(now).toISOString())
    .orderBy('kind')
    .orderBy('key')
    .execute();
  return rows.map(decodeThrottle).sort((a, b) => Number(isLockedAt(b, now)) - Number(isLockedAt(a, now)));
}

export async function saveThrottle(db: Kysely<Database>, record: ThrottleRecord): Promise<void> {
  const row = encodeThrottle(record);
  await db
    .insertInto('login_throttles')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['kind', 'key']).doUpdateSet({
        failures_json: row.failures_json,
        window_ms: row.window_ms,
        penalty_level: row.penalty_level,
        locked_until: row.locked_until,
        updated_at: row.updated_at,
        expires_at: row.expires_at,
      }),
    )
    .execute();
}

/**
 * Deletes rows that expired before `now`; returns how many. Rows another
 * transaction holds are left for a later prune (SKIP LOCKED on PostgreSQL):
 * two failed logins that each hold one row and prune would otherwise wait for
 * each other's row, a deadlock.
 */
export async function pruneThrottles(db: Kysely<Database>, now: number): Promise<number> {
  const expired = dialectOf(db).lockRows(
    db.selectFrom('login_throttles').select(['kind', 'key']).where('expires_at', '<=', new Date(now).toISOString()),
    'skip-locked',
  );
  const result = await db
    .deleteFrom('login_throttles')
    .where(({ eb, refTuple }) => eb(refTuple('kind', 'key'), 'in', expired.$asTuple('kind', 'key')))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes the rows of the given keys, or every row with `'all'`; returns the
 * deleted records. DELETE ... RETURNING: what is returned is exactly what this
 * statement deleted, so two concurrent clears never both report one row.
 */
export async function deleteThrottles(db: Kysely<Database>, which: ThrottleKeys | 'all'): Promise<ThrottleRecord[]> {
  let query = db.deleteFrom('login_throttles');
  if (which !== 'all') {
    const wanted = keyList(which);
    if (wanted.length === 0) return [];
    query = query.where((eb) => eb.or(wanted.map(([kind, key]) => eb.and([eb('kind', '=', kind), eb('key', '=', key)]))));
  }
  const rows = await query.returningAll().execute();
  return rows.map(decodeThrottle).sort((a, b) => a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key));
}

/** One throttle row before and after an update. */
export interface ThrottleChange {
  /** Undefined when the key had no row. */
  previous: ThrottleRecord | undefined;
  next: ThrottleRecord;
}

/**
 * Read-modify-write of the rows of `keys`, correct with any number of
 * concurrent writers on every dialect; call it inside a write transaction.
 * Each row is locked before it is read: an upsert that inserts an empty row
 * where there is none and otherwise updates nothing, which takes the row
 * lock either way (an insert racing another insert of the same key waits for
 * it). So under PostgreSQL's READ COMMITTED two failures for one key are
 * counted one after the other, never both from the same old row; on SQLite
 * the transaction's write lock serialises them anyway. Rows are locked in one
 * order (address before user), so two writers never deadlock on them.
 */
export async function updateThrottles(
  db: Kysely<Database>,
  keys: ThrottleKeys,
  update: (kind: ThrottleKind, key: string, previous: ThrottleRecord | undefined) => ThrottleRecord,
): Promise<ThrottleChange[]> {
  const changes: ThrottleChange[] = [];
  for (const [kind, key] of keyList(keys)) {
    const previous = await lockThrottle(db, kind, key);
    const next = update(kind, key, previous);
    await saveThrottle(db, next);
    changes.push({ previous, next });
  }
  return changes;
}

/** A new row's placeholder: no failures, expired since the epoch, so it reads as "no row" and is overwritten in the same transaction. */
const EPOCH = new Date(0).toISOString();

async function lockThrottle(db: Kysely<Database>, kind: ThrottleKind, key: string): Promise<ThrottleRecord | undefined> {
  const row = await db
    .insertInto('login_throttles')
    .values({ kind, key, failures_json: '[]', window_ms: 0, penalty_level: 0, locked_until: null, updated_at: EPOCH, expires_at: EPOCH })
    .onConflict((oc) => oc.columns(['kind', 'key']).doUpdateSet((eb) => ({ updated_at: eb.ref('login_throttles.updated_at') })))
    .returningAll()
    .executeTakeFirstOrThrow();
  const record = decodeThrottle(row);
  return record.expiresAt === 0 ? undefined : record;
}

function keyList(keys: ThrottleKeys): Array<[ThrottleKind, string]> {
  const wanted: Array<[ThrottleKind, string]> = [];
  if (keys.address !== undefined) wanted.push(['address', keys.address]);
  if (keys.user !== undefined) wanted.push(['user', keys.user]);
  return wanted;
}

/**
 * Whether `username_key` logged in successfully from `address` at or after
 * `since`: the audit log already holds the answer, read through its
 * (username_key, ts) index.
 */
export async function loggedInFromSince(db: Kysely<Database>, username_key: string, address: string, since: number): Promise<boolean> {
  const row = await db
    .selectFrom('audit_log')
    .select('id')
    .where('username_key', '=', username_key)
    .where('ts', '>=', new Date(since).toISOString())
    .where('event', '=', 'login')
    .where('outcome', '=', 'ok')
    .where('peer_address', '=', address)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The key an address is counted under. An IPv4-mapped IPv6 address counts as
 * its IPv4 address; an IPv6 address counts as its /64, since one host usually
 * holds a whole /64 (as Ergo's default cidr-len-ipv6: 64).
 */
export function throttleAddressKey(address: string): string {
  const plain = unmapIPv4(address);
  if (!plain.includes(':')) return plain;
  const bytes = ipv6Bytes(plain);
  return bytes === undefined ? address : `${ipv6Groups(bytes).slice(0, 4).join(':')}::/64`;
}

/** Failures still inside the row's window at `now`. */
export function failuresInWindow(record: ThrottleRecord, now: number): ThrottleFailure[] {
  return record.failures.filter((failure) => failure.at > now - record.windowMs);
}

export function isLockedAt(record: ThrottleRecord, now: number): boolean {
  return record.lockedUntil !== null && record.lockedUntil > now;
}

function decodeThrottle(row: ThrottleRow): ThrottleRecord {
  return {
    kind: row.kind,
    key: row.key,
    failures: parseFailures(row.failures_json),
    windowMs: row.window_ms,
    penaltyLevel: row.penalty_level,
    lockedUntil: row.locked_until === null ? null : Date.parse(row.locked_until),
    updatedAt: Date.parse(row.updated_at),
    expiresAt: Date.parse(row.expires_at),
  };
}

function encodeThrottle(record: ThrottleRecord): ThrottleRow {
  return {
    kind: record.kind,
    key: record.key,
    failures_json: JSON.stringify(record.failures.map((failure) => [failure.at, failure.from])),
    window_ms: record.windowMs,
    penalty_level: record.penaltyLevel,
    locked_until: record.lockedUntil === null ? null : new Date(record.lockedUntil).toISOString(),
    updated_at: new Date(record.updatedAt).toISOString(),
    expires_at: new Date(record.expiresAt).toISOString(),
  };
}

/** Another program version (or a hand edit) may have written the JSON: anything unreadable counts as no failures. */
function parseFailures(json: string): ThrottleFailure[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) =>
    Array.isArray(entry) && typeof entry[0] === 'number' && typeof entry[1] === 'string' ? [{ at: entry[0], from: entry[1] }] : [],
  );
}
