import type { Kysely } from 'kysely';

// Session resumption (PROTOCOL.md additions). resume_tokens: the SHA-256 of
// each live token, at most one per user (the newest login's), gone with its
// user. session_takeovers: a resume that replaced a session held by another
// instance asks that instance, here, to end the old connection; the row goes
// with its instance if that instance is dead.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('resume_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // UNIQUE: a new login replaces the user's token instead of adding one.
    .addColumn('username_key', 'text', (c) => c.notNull().unique())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('resume_tokens_expires_idx').on('resume_tokens').column('expires_at').execute();
  await db.schema.createIndex('resume_tokens_session_idx').on('resume_tokens').column('session_id').execute();

  await db.schema
    .createTable('session_takeovers')
    .addColumn('session_id', 'text', (c) => c.primaryKey())
    .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    .addColumn('by_session_id', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('session_takeovers_instance_idx').on('session_takeovers').column('instance_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('session_takeovers').execute();
  await db.schema.dropTable('resume_tokens').execute();
}
