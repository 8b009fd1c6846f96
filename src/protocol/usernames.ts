/** 1–32 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit. */
const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

export const USERNAME_RULE = '1-32 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit';

export function isValidUsername(name: string): boolean {
  return USERNAME_PATTERN.test(name);
}
