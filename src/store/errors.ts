/** Stable codes for everything the store can refuse; callers switch on `code`, never on text. */
export const STORE_ERROR_CODES = [
  'DB_NOT_FOUND',
  'DB_NOT_A_DATABASE',
  'DB_LOCKED',
  'DB_SCHEMA_TOO_NEW',
  'DB_OPEN_FAILED',
  'DB_READ_ONLY',
  'USER_EXISTS',
  'USER_NOT_FOUND',
] as const;
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** better-sqlite3 puts SQLite's extended result code on `code` (for example `SQLITE_BUSY`). */
export function sqliteCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
  }
  return undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Turns low-level SQLite failures that a user can cause (a locked file, a file
 * that is not a database) into StoreErrors; anything else is rethrown as is.
 */
export function translateSqliteError(error: unknown, file: string): unknown {
  if (error instanceof StoreError) return error;
  const code = sqliteCode(error);
  if (code === undefined) return error;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('DB_LOCKED', `database ${file} is locked by another process (gave up after the busy timeout)`, { cause: error });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StoreError('DB_NOT_A_DATABASE', `${file} is not a chat-server database (the file is not SQLite or is corrupt)`, { cause: error });
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreError('DB_READ_ONLY', `database ${file} is read-only`, { cause: error });
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new StoreError('DB_OPEN_FAILED', `cannot open database ${file}`, { cause: error });
  }
  return error;
}
