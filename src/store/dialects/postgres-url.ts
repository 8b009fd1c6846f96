/**
 * Whether a --db value names a PostgreSQL database. On its own, without the
 * dialect: deciding must not load `pg` (about 15 MB of a process's memory)
 * where SQLite is used.
 */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}
