import { PostgresAdapter, type Kysely } from 'kysely';

// audit_log.duration_ms was `integer`: 32 bits on PostgreSQL, so a session
// longer than 24.8 days (2^31 ms) could not be audited when it ended, and
// the session-end writer dropped the whole batch it was in as a bug. SQLite's
// integers are 64-bit already; only PostgreSQL's column changes (the pool
// reads bigint as a number: src/store/dialects/postgres.ts).
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await db.schema.alterTable('audit_log').alterColumn('duration_ms', (c) => c.setDataType('bigint')).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await db.schema.alterTable('audit_log').alterColumn('duration_ms', (c) => c.setDataType('integer')).execute();
}
