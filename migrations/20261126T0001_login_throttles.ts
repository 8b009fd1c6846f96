import type { Kysely } from 'kysely';

// Login throttling shared by every server process: one row per client address
// and one per username that failed recently (or is remembered as a repeat
// offender). Rows are pruned once expires_at has passed.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('login_throttles')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('failures_json', 'text', (c) => c.notNull())
    .addColumn('window_ms', 'integer', (c) => c.notNull())
    .addColumn('penalty_level', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('login_throttles_pk', ['kind', 'key'])
    .execute();
  await db.schema.createIndex('login_throttles_expires_idx').on('login_throttles').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('login_throttles').execute();
}
