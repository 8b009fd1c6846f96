import type { Kysely } from 'kysely';
import { autoIncrementId } from './columns.js';

// Migrations take Kysely<any>: they describe the schema at their point in
// history, not the current Database interface.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', ...autoIncrementId(db))
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('username_key', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('last_login_at', 'text')
    .execute();

  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('listen_address', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('username', 'text', (c) => c.notNull())
    // UNIQUE: the database, not a check-then-insert, enforces one live session per user.
    .addColumn('username_key', 'text', (c) => c.notNull().unique())
    .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    .addColumn('peer_address', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('connected_at', 'text', (c) => c.notNull())
    .addColumn('last_activity_at', 'text', (c) => c.notNull())
    .addColumn('end_request', 'text')
    .addColumn('end_request_note', 'text')
    .addColumn('end_requested_by', 'text')
    .execute();
  await db.schema.createIndex('sessions_instance_idx').on('sessions').column('instance_id').execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', ...autoIncrementId(db))
    .addColumn('ts', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('username', 'text')
    .addColumn('username_key', 'text')
    .addColumn('outcome', 'text')
    .addColumn('reason', 'text')
    .addColumn('peer_address', 'text')
    .addColumn('mode', 'text')
    .addColumn('instance_id', 'text')
    .addColumn('session_id', 'text')
    .addColumn('duration_ms', 'integer')
    .addColumn('actor', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_ts_idx').on('audit_log').column('ts').execute();
  await db.schema.createIndex('audit_user_ts_idx').on('audit_log').columns(['username_key', 'ts']).execute();
  await db.schema.createIndex('audit_event_ts_idx').on('audit_log').columns(['event', 'ts']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('sessions').execute();
  await db.schema.dropTable('instances').execute();
  await db.schema.dropTable('users').execute();
}
