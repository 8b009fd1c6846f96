import type { Kysely } from 'kysely';

// Recent room messages, replayed on login and pruned after the retention
// period. The id is the message id (src/protocol/message-id.ts): unique
// across instances and ordered by time as a string, so it is both the key and
// the replay order. ts is indexed for retention and `chat-admin history --since`.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('username_key', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('ts', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('messages_ts_idx').on('messages').column('ts').execute();
  await db.schema.createIndex('messages_user_ts_idx').on('messages').columns(['username_key', 'ts']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('messages').execute();
}
