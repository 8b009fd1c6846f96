import { describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE, parseClientOptions, UsageError, type OptionContext } from '../../src/client/options.js';

const tty: OptionContext = { env: {}, stdinIsTTY: true, stdoutIsTTY: true };
const piped: OptionContext = { env: {}, stdinIsTTY: false, stdoutIsTTY: false };

function parse(argv: string[], context: OptionContext = tty) {
  const out: string[] = [];
  const err: string[] = [];
  const outcome = parseClientOptions(argv, '9.9.9', { writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) }, context);
  return { outcome, out: out.join(''), err: err.join('') };
}

function options(argv: string[], context: OptionContext = tty) {
  const { outcome } = parse(argv, context);
  if (outcome.kind !== 'run') throw new Error('expected run');
  return outcome.options;
}

describe('chat-client options', () => {
  it('has defaults for an interactive terminal', () => {
    const o = options([]);
    expect(o).toEqual({
      address: { host: 'localhost', port: 12345 },
      user: undefined,
      password: { kind: 'prompt' },
      connectTimeoutMs: 10_000,
      color: true,
      interactive: true,
    });
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.address)).toBe(true);
  });

  it('reads address, user and timeout', () => {
    const o = options(['tcp://0.tcp.eu.ngrok.io:15000', '--user', 'shon', '--connect-timeout', '2.5']);
    expect(o.address).toEqual({ host: '0.tcp.eu.ngrok.io', port: 15000 });
    expect(o.user).toBe('shon');
    expect(o.connectTimeoutMs).toBe(2500);
  });

  it('reads --connect-timeout in the duration grammar of every option', () => {
    expect(options(['--connect-timeout', '500ms']).connectTimeoutMs).toBe(500);
    expect(options(['--connect-timeout', '1m']).connectTimeoutMs).toBe(60_000);
    expect(options([]).connectTimeoutMs).toBe(10_000);
  });

  it('takes the password from CHAT_PASSWORD, or stdin when asked', () => {
    expect(options(['-u', 'bot'], { ...piped, env: { CHAT_PASSWORD: 'pw' } }).password).toEqual({ kind: 'env', value: 'pw' });
    expect(options(['-u', 'bot', '--password-stdin'], { ...piped, env: { CHAT_PASSWORD: 'pw' } }).password).toEqual({ kind: 'stdin' });
    expect(options([], { ...tty, env: { CHAT_PASSWORD: '' } }).password).toEqual({ kind: 'prompt' });
  });

  it('turns colour off for NO_COLOR, --no-color, TERM=dumb or a non-terminal stdout', () => {
    expect(options([], { ...tty, env: { NO_COLOR: '1' } }).color).toBe(false);
    expect(options([], { ...tty, env: { NO_COLOR: '' } }).color).toBe(true);
    expect(options(['--no-color']).color).toBe(false);
    expect(options([], { ...tty, env: { TERM: 'dumb' } }).color).toBe(false);
    expect(options([], { ...tty, stdoutIsTTY: false }).color).toBe(false);
  });

  it.each([
    [['bad host'], tty, /bad host name/],
    [['--user', '{json'], tty, /not a valid username/],
    [['--password-stdin'], tty, /--password-stdin needs stdin/],
    [[], { ...piped, env: { CHAT_PASSWORD: 'x' } }, /give --user/],
    [['--user', 'bot'], piped, /set CHAT_PASSWORD or use --password-stdin/],
  ] as const)('refuses %j', (argv, context, message) => {
    expect(() => parse([...argv], context)).toThrow(UsageError);
    expect(() => parse([...argv], context)).toThrow(message);
  });

  it('reports commander errors with exit status 2', () => {
    for (const argv of [['--bogus'], ['a', 'b'], ['--connect-timeout', '0'], ['--connect-timeout', 'soon']]) {
      const { outcome, err } = parse(argv);
      expect(outcome).toEqual({ kind: 'exit', code: EXIT_USAGE });
      expect(err).toMatch(/^chat-client: [^\n]+\n$/);
    }
  });

  it('prints help and version with exit status 0', () => {
    const help = parse(['--help']);
    expect(help.outcome).toEqual({ kind: 'exit', code: EXIT_OK });
    for (const text of ['--user', '--password-stdin', '--connect-timeout', 'CHAT_PASSWORD', 'NO_COLOR', 'tcp://', 'Exit status', 'c.exit']) {
      expect(help.out).toContain(text);
    }
    const version = parse(['--version']);
    expect(version.outcome).toEqual({ kind: 'exit', code: EXIT_OK });
    expect(version.out.trim()).toBe('9.9.9');
  });
});
