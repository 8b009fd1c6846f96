import { ConfigError } from '../../src/config/option-spec.js';
import { CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { AccountError } from '../../src/accounts/errors.js';
import { CliError, describeFailure } from '../../src/admin/errors.js';
import { StoreError } from '../../src/store/errors.js';

describe('describeFailure', () => {
  it.each([
    ['help shown', new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), 0, []],
    ['a noun without verb', new CommanderError(1, 'commander.help', '(outputHelp)'), 2, []],
    ['an unknown command', new CommanderError(1, 'commander.unknownCommand', "error: unknown command 'x'\n(Did you mean y?)"), 2, ["unknown command 'x' (did you mean y?)"]],
    ['a bad setting', new ConfigError(['CHAT_BUSY_TIMEOUT "5000" must be at most 1m']), 2, ['invalid configuration: CHAT_BUSY_TIMEOUT "5000" must be at most 1m']],
    ['a bad option value', new InvalidArgumentError('bad'), 2, ['bad']],
    ['a store error', new StoreError('DB_LOCKED', 'database x is locked'), 1, ['database x is locked']],
    ['an account error', new AccountError('INVALID_USERNAME', 'invalid username'), 1, ['invalid username']],
    ['a cli error', new CliError('NO_TERMINAL', 'no terminal', { exitCode: 2 }), 2, ['no terminal']],
    ['a cli error with the default code', new CliError('NO_LIVE_SESSION', 'no session'), 1, ['no session']],
  ])('%s', (_case, error, exitCode, lines) => {
    expect(describeFailure(error, false)).toEqual({ exitCode, lines });
  });

  it('reports an unexpected error in one line with the CHAT_DEBUG hint, and the stack only in debug', () => {
    const error = new TypeError('boom\nsecond line');
    expect(describeFailure(error, false)).toEqual({
      exitCode: 1,
      lines: ['unexpected error: boom second line (set CHAT_DEBUG=1 to see the stack)'],
    });
    expect(describeFailure(error, true).lines[0]).toContain('    at ');
    expect(describeFailure('a string', false).lines).toEqual(['unexpected error: a string (set CHAT_DEBUG=1 to see the stack)']);
  });
});
