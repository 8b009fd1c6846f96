import type { Kysely } from 'kysely';

// What `chat-admin instances` shows of each running server, written by its
// heartbeat (connections open, users logged in), and the bus it uses, so that
// a server can tell it would split the room with another one (no bus, or
// another key prefix). One ALTER per column: SQLite adds one at a time.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('connections', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('instances').addColumn('users', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // NULL: the instance runs without a bus; otherwise its key prefix.
  await db.schema.alterTable('instances').addColumn('bus_prefix', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('instances').dropColumn('bus_prefix').execute();
  await db.schema.alterTable('instances').dropColumn('users').execute();
  await db.schema.alterTable('instances').dropColumn('connections').execute();
}
