import type { Kysely } from 'kysely';

// Every room message is one insert, and at a busy room's 20 000 a second the
// messages table's indexes are most of the store's work. The (username_key,
// ts) index served only `chat-admin history --user`; without it that query
// reads the newest messages backwards along the primary key until it has
// enough from that user (at worst the retention's rows, for one admin
// command), and each insert is about a third cheaper (issue 13's bench).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('messages_user_ts_idx').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('messages_user_ts_idx').on('messages').columns(['username_key', 'ts']).execute();
}
