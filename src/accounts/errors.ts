export const ACCOUNT_ERROR_CODES = ['INVALID_USERNAME', 'PASSWORD_EMPTY', 'PASSWORD_TOO_SHORT', 'PASSWORD_TOO_LONG', 'INVALID_BCRYPT_COST'] as const;
export type AccountErrorCode = (typeof ACCOUNT_ERROR_CODES)[number];

export class AccountError extends Error {
  override readonly name = 'AccountError';
  constructor(
    readonly code: AccountErrorCode,
    message: string,
  ) {
    super(message);
  }
}
