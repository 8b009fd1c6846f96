import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/admin/errors.js';
import { parseImportLines } from '../../src/admin/import-lines.js';

function failure(text: string): CliError {
  try {
    parseImportLines(text);
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected parseImportLines to fail');
}

describe('parseImportLines', () => {
  it('keeps line numbers, skips blanks and comments, keeps the password after the first colon as is', () => {
    const text = '# users\n\n  alice :a:b c \r\n\t# note\nBob:x\n';
    expect(parseImportLines(text)).toEqual([
      { line: 3, username: 'alice', password: 'a:b c ' },
      { line: 5, username: 'Bob', password: 'x' },
    ]);
  });

  it('returns nothing for an input of only comments', () => {
    expect(parseImportLines('# a\n\n   \n')).toEqual([]);
    expect(parseImportLines('')).toEqual([]);
  });

  it.each([
    ['no colon', 'a:1\nb\n', 2, /expected name:password/],
    ['an invalid name', 'a:1\nb c:2\n', 2, /invalid username "b c"/],
    ['an empty name', ':pw\n', 1, /invalid username ""/],
    ['an empty password', 'a:\n', 1, /the password is empty/],
    ['a password over 72 bytes', `a:${'€'.repeat(25)}\n`, 1, /75 bytes/],
    ['a case-insensitive duplicate', 'Shon:1\n\nSHON:2\n', 3, /listed twice \(first on line 1\)/],
  ])('fails on %s with the line number', (_case, text, line, reason) => {
    const error = failure(text);
    expect(error.code).toBe('IMPORT_INVALID_LINE');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(new RegExp(`^line ${line}: `));
    expect(error.message).toMatch(reason);
  });

  it('reports the first bad line when there are several', () => {
    expect(failure('ok:1\nbad\n:also bad\n').message).toMatch(/^line 2: /);
  });
});
