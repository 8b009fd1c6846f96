/** Stable codes for everything the store can refuse; callers switch on `code`, never on text. */
export const STORE_ERROR_CODES = [
  'DB_NOT_FOUND',
  'DB_NOT_A_DATABASE',
  'DB_LOCKED',
  'DB_SCHEMA_TOO_NEW',
  'DB_OPEN_FAILED',
  'DB_READ_ONLY',
  'DB_CLOSED',
  'DB_UNAVAILABLE',
  'DB_NOT_EMPTY',
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
