import { homedir } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT_USAGE, isRequestedOutput, usageMessage } from '../config/usage.js';
import { DURATION_RULE, isProblem, parseDuration } from '../config/value-grammar.js';
import { isValidUsername, USERNAME_RULE } from '../protocol/usernames.js';
import { AddressError, parseAddress, type ChatAddress } from './address.js';
import { KNOWN_HOSTS_ENV, knownHostsPath } from './known-hosts.js';

export const EXIT_OK = 0;
/** The server ended the session, or a login was refused. */
export const EXIT_SESSION = 1;
/** Bad usage, bad address, no connection. */
export { EXIT_USAGE };

export const DEFAULT_CONNECT_TIMEOUT_S = 10;
export const PASSWORD_ENV = 'CHAT_PASSWORD';

/** Where the password comes from; only `prompt` may ask again after a refusal. */
export type PasswordSource = { readonly kind: 'prompt' } | { readonly kind: 'env'; readonly value: string } | { readonly kind: 'stdin' };

/** Everything chat-client was asked to do, checked once and frozen. */
export interface ClientOptions {
  readonly address: ChatAddress;
  /** From `--user`; undefined means ask. */
  readonly user: string | undefined;
  readonly password: PasswordSource;
  readonly connectTimeoutMs: number;
  /** Colours on stdout. */
  readonly color: boolean;
  /** stdin is a terminal: prompts and a line editor; otherwise every input line is posted. */
  readonly interactive: boolean;
  /** Set when the connection is TLS (`--tls`, a `tls://` address, or a TLS option). */
  readonly tls: ClientTlsOptions | undefined;
}

/** How a TLS server's certificate is checked: the CAs, else a pinned fingerprint (trust on first use). */
export interface ClientTlsOptions {
  /** PEM file of extra CA certificates (`--ca`). */
  readonly caFile: string | undefined;
  /** No verification and no pinning (`--insecure`). */
  readonly insecure: boolean;
  /** Without a terminal, pin a server seen for the first time instead of refusing it (`--trust-new-host`). */
  readonly trustNewHost: boolean;
  readonly knownHostsFile: string;
}

/** A command line that cannot be run; main prints `chat-client: <message>` and exits with `exitCode`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'ERR_CHAT_USAGE';
  readonly exitCode = EXIT_USAGE;
}

export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

export interface OptionContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The home folder, for the default known_hosts file (default: the OS's). */
  readonly home?: string;
  readonly stdinIsTTY: boolean;
  readonly stdoutIsTTY: boolean;
}

/** What parsing decided: run with these options, or exit now (after --help or --version, or a usage error already printed). */
export type ParseOutcome = { readonly kind: 'run'; readonly options: ClientOptions } | { readonly kind: 'exit'; readonly code: number };

const EXAMPLES = `
Address forms:
  HOST, HOST:PORT, [IPv6], [IPv6]:PORT, tcp://HOST:PORT (as "ngrok tcp 12345" prints it).
  Default: localhost:12345.

In a terminal you are asked for your username and password (not echoed), then
type messages and press Enter. Commands: c.who (who is online), c.help (help),
c.exit (leave); Ctrl-D and Ctrl-C leave too.

When stdin is not a terminal, nothing is asked: give --user and the password in
$${PASSWORD_ENV} or as the first line of stdin (--password-stdin). Each input
line is posted as a message; at the end of input the client leaves once the
server has accepted every line. Messages from others are printed on stdout.

TLS (--tls or a tls:// address):
  The server's certificate must be vouched for by a system CA (or --ca FILE).
  A self-signed server is pinned on first use, like SSH: its SHA-256 fingerprint
  is shown and you confirm it (compare it with what chat-server printed at
  start); it is kept in ~/.config/chat-client/known_hosts. Without a terminal a
  new server is refused unless --trust-new-host is given. If a pinned server
  later shows another certificate, the client refuses to connect (exit 2).

Environment:
  ${PASSWORD_ENV}   password (for scripts; refused login exits at once)
  NO_COLOR        any non-empty value turns colours off
  ${KNOWN_HOSTS_ENV}  the known_hosts file to use instead of the default

Exit status:
  0  you left (c.exit, Ctrl-D, end of input)
  1  the server ended the session, a login was refused, or a piped line was not delivered
  2  bad usage or address, connection refused or timed out, name not found

Examples:
  chat-client
  chat-client chat.example.org:12345 --user shon
  chat-client tcp://0.tcp.eu.ngrok.io:12345
  chat-client tls://0.tcp.eu.ngrok.io:12345 --user shon
  chat-client [::1]:12345
  printf 'build finished\\n' | ${PASSWORD_ENV}=secret chat-client --user bot
  (echo "$PW"; cat notes.txt) | chat-client --user bot --password-stdin
`;

const MAX_CONNECT_TIMEOUT_MS = 3_600_000;

/** The duration grammar of every option: `10` (seconds), `2.5s`, `500ms`, `1m`; above 0, at most 1h. */
function parseTimeout(text: string): number {
  const ms = parseDuration(text);
  if (isProblem(ms)) throw new InvalidArgumentError(ms.problem);
  if (ms === 0 || ms > MAX_CONNECT_TIMEOUT_MS) throw new InvalidArgumentError('must be more than 0 and at most 1h');
  return ms;
}

/** The commander program; `exitOverride` makes --help, --version and errors return to the caller. */
export function createClientProgram(version: string, output: ProgramOutput): Command {
  return new Command('chat-client')
    .description('Terminal client for chat-server: log in and chat.')
    .argument('[address]', 'server address, HOST[:PORT] or tcp://HOST:PORT (default: localhost:12345)')
    .option('-u, --user <name>', 'log in as this user instead of asking')
    .option('--password-stdin', 'read the password from the first line of stdin (stdin must not be a terminal)')
    .addOption(
      new Option('--connect-timeout <duration>', `give up connecting after this long (${DURATION_RULE})`)
        .default(DEFAULT_CONNECT_TIMEOUT_S * 1000, `${DEFAULT_CONNECT_TIMEOUT_S}s`)
        .argParser(parseTimeout),
    )
    .option('--no-color', 'no colours (also: NO_COLOR=1, or stdout not a terminal)')
    .option('--tls', 'connect with TLS (also: a tls://HOST:PORT address)')
    .option('--ca <file>', 'also trust certificates signed by the CA in this PEM file (implies --tls)')
    .option('--trust-new-host', 'without a terminal: pin a server\'s self-signed certificate on first use instead of refusing (implies --tls)')
    .option('--insecure', 'TLS without checking the server\'s certificate: anyone on the path can read your password and the chat (implies --tls)')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', EXAMPLES)
    .configureOutput({
      writeOut: output.writeOut,
      writeErr: output.writeErr,
      // parseClientOptions prints usage errors in the one-line format all three programs share.
      outputError: () => undefined,
    })
    .exitOverride()
    .allowExcessArguments(false);
}

interface RawOptions {
  tls?: boolean;
  ca?: string;
  trustNewHost?: boolean;
  insecure?: boolean;
  user?: string;
  passwordStdin?: boolean;
  connectTimeout: number;
  color: boolean;
}

/** Turns checked command-line values and the environment into options; throws UsageError. */
export function resolveClientOptions(addressArg: string | undefined, raw: RawOptions, context: OptionContext): ClientOptions {
  let address: ChatAddress;
  // A bare number is a port typed without its host, not a host named 12346.
  if (addressArg !== undefined && /^\d{1,5}$/.test(addressArg)) throw new UsageError(`'${addressArg}' is a port, not an address (did you mean localhost:${addressArg}?)`);
  try {
    address = parseAddress(addressArg);
  } catch (error) {
    if (error instanceof AddressError) throw new UsageError(error.message);
    throw error;
  }
  if (raw.user !== undefined && !isValidUsername(raw.user)) {
    throw new UsageError(`--user ${JSON.stringify(raw.user)} is not a valid username (${USERNAME_RULE})`);
  }
  const envPassword = context.env[PASSWORD_ENV];
  let password: PasswordSource;
  if (raw.passwordStdin === true) {
    if (context.stdinIsTTY) throw new UsageError('--password-stdin needs stdin to be a pipe or a file, not a terminal');
    password = { kind: 'stdin' };
  } else if (envPassword !== undefined && envPassword !== '') {
    password = { kind: 'env', value: envPassword };
  } else {
    password = { kind: 'prompt' };
  }
  if (!context.stdinIsTTY) {
    if (raw.user === undefined) throw new UsageError('stdin is not a terminal, so nothing can be asked: give --user NAME');
    if (password.kind === 'prompt') {
      throw new UsageError(`stdin is not a terminal, so nothing can be asked: set ${PASSWORD_ENV} or use --password-stdin`);
    }
  }
  const wantsTls = raw.tls === true || address.tls === true || raw.ca !== undefined || raw.insecure === true || raw.trustNewHost === true;
  if (raw.insecure === true && raw.ca !== undefined) throw new UsageError('--insecure and --ca exclude each other: --insecure checks no certificate at all');
  const tls: ClientTlsOptions | undefined = wantsTls
    ? Object.freeze({
        caFile: raw.ca,
        insecure: raw.insecure === true,
        trustNewHost: raw.trustNewHost === true,
        knownHostsFile: knownHostsPath(context.env, context.home ?? homedir()),
      })
    : undefined;
  const noColorEnv = context.env['NO_COLOR'];
  const color = raw.color && context.stdoutIsTTY && (noColorEnv === undefined || noColorEnv === '') && context.env['TERM'] !== 'dumb';
  return Object.freeze({
    address: Object.freeze({ ...address }),
    user: raw.user,
    password: Object.freeze(password),
    connectTimeoutMs: raw.connectTimeout,
    color,
    interactive: context.stdinIsTTY,
    tls,
  });
}

/**
 * Parses `argv` (without node and script). Help, version and commander's own
 * errors are written through `output`; a UsageError is left to the caller.
 */
export function parseClientOptions(argv: readonly string[], version: string, output: ProgramOutput, context: OptionContext): ParseOutcome {
  const program = createClientProgram(version, output);
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (isRequestedOutput(error) || error.code === 'commander.help') return { kind: 'exit', code: EXIT_OK };
      output.writeErr(`chat-client: ${usageMessage(error)}\n`);
      return { kind: 'exit', code: EXIT_USAGE };
    }
    throw error;
  }
  const options = resolveClientOptions(program.args[0], program.opts<RawOptions>(), context);
  return { kind: 'run', options };
}
