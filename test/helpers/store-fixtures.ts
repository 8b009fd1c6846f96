import { randomUUID } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { registerInstance } from '../../src/store/instances.js';
import { openStore } from '../../src/store/open-store.js';
import type { Database, SessionRow } from '../../src/store/schema.js';
import { claimSession } from '../../src/store/sessions.js';
import { findUser } from '../../src/store/users.js';

export interface LiveSessionSpec {
  username: string;
  instanceId?: string;
  hostname?: string;
  pid?: number;
  peerAddress?: string;
  at?: string;
}

/**
 * Inserts a live session the way a server would: its instance row first (the
 * session's foreign key needs it), then the session. Returns the session id.
 */
export async function insertLiveSession(db: Kysely<Database>, spec: LiveSessionSpec): Promise<{ sessionId: string; instanceId: string }> {
  const at = spec.at ?? new Date().toISOString();
  const instanceId = spec.instanceId ?? randomUUID();
  const known = await db.selectFrom('instances').select('id').where('id', '=', instanceId).executeTakeFirst();
  if (known === undefined) {
    await registerInstance(db, {
      id: instanceId,
      hostname: spec.hostname ?? 'test-host',
      pid: spec.pid ?? 4242,
      listen_address: '127.0.0.1:0',
      started_at: at,
      heartbeat_at: at,
    });
  }
  const user = await findUser(db, spec.username);
  const sessionId = randomUUID();
  const claimed = await claimSession(db, {
    id: sessionId,
    user_id: user?.id ?? null,
    username: user?.username ?? spec.username,
    username_key: (user?.username ?? spec.username).toLowerCase(),
    instance_id: instanceId,
    peer_address: spec.peerAddress ?? '127.0.0.1:50000',
    mode: 'text',
    connected_at: at,
    last_activity_at: at,
    end_request: null,
    end_request_note: null,
    end_requested_by: null,
  });
  if (claimed !== 'claimed') throw new Error(`${spec.username} already has a live session`);
  return { sessionId, instanceId };
}

/** Opens an existing database through the real store layer for a test's setup, runs `work`, closes it. */
export async function withTestStore<T>(file: string, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const store = await openStore({ file, create: false });
  try {
    return await work(store.db);
  } finally {
    await store.close();
  }
}

export async function sessionOf(file: string, username: string): Promise<SessionRow | undefined> {
  return withTestStore(file, (db) => db.selectFrom('sessions').selectAll().where('username_key', '=', username.toLowerCase()).executeTakeFirst());
}

/** Every row of the given tables, read with plain SQLite, to assert that a failed command changed nothing. */
export function dumpTables(file: string, tables: readonly string[] = ['users', 'sessions', 'audit_log']): Record<string, unknown[]> {
  const raw = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  try {
    return Object.fromEntries(tables.map((table) => [table, raw.prepare(`select * from ${table} order by rowid`).all()]));
  } finally {
    raw.close();
  }
}
