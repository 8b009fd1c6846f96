import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

/**
 * An auto-incrementing integer primary key on every dialect: SQLite's
 * `integer primary key autoincrement`, PostgreSQL's `serial primary key`
 * (Kysely has no portable spelling). The SQLite DDL is what it always was.
 */
export function autoIncrementId(db: Kysely<any>): ['serial' | 'integer', (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder] {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return ['serial', (c) => c.primaryKey()];
  return ['integer', (c) => c.primaryKey().autoIncrement()];
}
