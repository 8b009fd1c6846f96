#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import { HashPool } from '../accounts/hash-pool.js';
import { declareOptions, readOptionValues } from '../config/commander-options.js';
import { EXIT_USAGE, isRequestedOutput, unexpectedArgument, usageMessage } from '../config/usage.js';
import { DURATION_RULE, SIZE_RULE } from '../config/value-grammar.js';
import { VERSION } from '../package-info.js';
import { BusError } from '../bus/bus-error.js';
import type { RedisBus } from '../bus/redis-bus.js';
import { redactUrl } from '../util/redact-url.js';
import { InstanceConflictError } from './instance-registry.js';
import { StoreError } from '../store/errors.js';
import { openStore, storeLocalBase } from '../store/open-store.js';
import { countUsers } from '../store/users.js';
import { createChatServer } from './chat-server.js';
import { buildServerConfig, ConfigError, SERVER_OPTIONS, type ServerConfig } from './config.js';
import { listenFailure } from './listen-errors.js';
import { createLogger, type Logger } from './log.js';
import { findPortHolder } from './port-holder.js';
import { loadTlsIdentity, reloadTlsIdentity, selfSignedIdentity, TlsSetupError, type TlsIdentity } from './tls-identity.js';

/** Hard stop if a graceful shutdown hangs: the issue promises an exit within 5 s. */
const SHUTDOWN_DEADLINE_MS = 4500;

function fail(message: string, exitCode: number): never {
  process.stderr.write(`chat-server: ${message}\n`);
  process.exit(exitCode);
}

/** A command line chat-server cannot run: printed as one `chat-server: ...` line, exit status 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'ERR_CHAT_USAGE';
}

/** Returns the raw flag values by flag name, or undefined when --help or --version was printed. */
function parseArgs(argv: string[]): Record<string, string | undefined> | undefined {
  const program = new Command('chat-server')
    .description('A private, admin-managed chat over TCP. People connect with chat-client, nc or telnet.')
    .version(VERSION)
    .exitOverride()
    // Operands are checked below, to suggest --port for `chat-server 12346`.
    .allowExcessArguments(true)
    .configureOutput({ writeErr: (text) => process.stderr.write(text), outputError: () => undefined })
    .addHelpText(
      'after',
      [
        '',
        'Every option can also come from its environment variable; a flag wins over the variable.',
        `Durations: ${DURATION_RULE}.`,
        `Sizes: ${SIZE_RULE}. 0 switches a limit off.`,
        '',
        'Examples:',
        '  chat-server                                 serve on 0.0.0.0:12345 with ./chat.db',
        '  chat-server --port 0 --db /var/lib/chat.db  pick a free port',
        '  CHAT_PORT=2000 chat-server --rate-limit 0    no per-user rate limit',
        '  chat-server --tls-self-signed --require-tls  TLS only, with a certificate kept next to the database',
        '  chat-server --proxy-protocol                behind ngrok or a load balancer that sends the PROXY header',
        '  chat-server --db postgres://chat@db/chat --bus redis://bus:6379',
        '                                              one of several instances sharing one room (docs/cluster.md)',
        '',
        'Add users with chat-admin (chat-admin user add NAME).',
      ].join('\n'),
    );
  declareOptions(program, SERVER_OPTIONS);
  try {
    program.parse(argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (isRequestedOutput(error)) return undefined;
    throw new UsageError(usageMessage(error));
  }
  if (program.args.length > 0) throw new UsageError(unexpectedArgument(program.args[0]!));
  return readOptionValues(program, SERVER_OPTIONS);
}

/** With --bus: the bus to the other instances (started by the server), under the configured key prefix. */
async function clusterDeps(config: ServerConfig, logger: Logger): Promise<{ bus?: RedisBus; busPrefix?: string }> {
  if (config.bus === '') return {};
  // Loaded only with a bus: ioredis costs a single server about 20 MB.
  const { RedisBus } = await import('../bus/redis-bus.js');
  // Closing waits at most 1 s for Redis to take the last messages: the whole shutdown must fit SHUTDOWN_DEADLINE_MS.
  return { bus: new RedisBus({ url: config.bus, instanceId: randomUUID(), keyPrefix: config.busPrefix, closeTimeoutMs: 1000, log: logger }), busPrefix: config.busPrefix };
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv);
  if (cli === undefined) process.exit(0);
  const config = buildServerConfig(cli, process.env);
  // SIGHUP (the terminal that ran us closed, or an operator after renewing the certificate) must never kill the server.
  let reload: () => void = () => undefined;
  process.on('SIGHUP', () => reload());
  // With the terminal gone, a write to it fails (EIO, EPIPE): the server goes on without its log rather than crash.
  process.stdout.on('error', () => undefined);
  const tls = config.tlsSelfSigned ? await selfSignedIdentity(storeLocalBase(config.dbFile)) : config.tlsCert !== '' ? loadTlsIdentity(config.tlsCert, config.tlsKey) : undefined;
  const logger = createLogger((line) => process.stdout.write(line));
  const store = await openStore({ file: config.dbFile, create: true, busyTimeoutMs: config.busyTimeoutMs, poolSize: config.dbPoolSize });
  const hasher = new HashPool({ size: config.hashWorkers, maxQueue: config.loginQueue === 0 ? Number.MAX_SAFE_INTEGER : config.loginQueue });
  const server = await createChatServer({ config, store, hasher, logger, serverName: `chat-server/${VERSION}`, tls: tls?.secureContext, ...(await clusterDeps(config, logger)) });

  let address;
  try {
    address = await server.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const holder = code === 'EADDRINUSE' ? findPortHolder(config.port) : undefined;
    const message = listenFailure(code, config.host, config.port, holder);
    if (message !== undefined) fail(message, 1);
    throw error;
  }
  // Handlers first: whoever reads the listening line may signal at once (a test, a supervisor).
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutdown', { signal });
    setTimeout(() => {
      process.stderr.write('chat-server: shutdown took too long, exiting\n');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    void (async () => {
      await server.close();
      await hasher.close();
      await store.close();
      logger.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const users = await countUsers(store.db);
  const usersNote = users === 0 ? 'no users yet: add one with "chat-admin user add NAME"' : `${users} user${users === 1 ? '' : 's'}`;
  const busNote = config.bus === '' ? '' : `, bus ${redactUrl(config.bus)} prefix ${config.busPrefix}`;
  process.stdout.write(`chat-server ${VERSION} listening on ${address.address}:${address.port} (database ${store.file}, ${usersNote}${busNote})\n`);
  if (tls !== undefined) {
    process.stdout.write(`TLS certificate SHA-256 fingerprint: ${tls.fingerprint}\n`);
    const plain = config.requireTls ? 'plain connections refused' : 'plain connections accepted too';
    process.stdout.write(`TLS ${tls.created ? 'made a self-signed certificate' : 'certificate'} ${tls.certFile} (${plain})\n`);
  }

  let identity: TlsIdentity | undefined = tls;
  reload = () => {
    if (identity === undefined) {
      logger.info('reload', { signal: 'SIGHUP', tls: 'none' });
      return;
    }
    try {
      const next = reloadTlsIdentity(identity);
      server.useTlsContext(next.secureContext);
      logger.info('tls_reloaded', { signal: 'SIGHUP', cert: next.certFile, fingerprint: next.fingerprint, previous: next.fingerprint === identity.fingerprint ? undefined : identity.fingerprint });
      identity = next;
    } catch (error) {
      if (!(error instanceof TlsSetupError)) throw error;
      logger.error('tls_reload_failed', { signal: 'SIGHUP', error: error.message, kept: identity.fingerprint });
    }
  };

}

main().catch((error: unknown) => {
  if (error instanceof UsageError) fail(error.message, EXIT_USAGE);
  if (error instanceof ConfigError) fail(`invalid configuration: ${error.message}`, EXIT_USAGE);
  if (error instanceof StoreError) fail(error.message, 1);
  if (error instanceof TlsSetupError) fail(error.message, 2);
  if (error instanceof BusError || error instanceof InstanceConflictError) fail(error.message, 1);
  if (process.env.CHAT_DEBUG === '1') console.error(error);
  fail(`unexpected error: ${error instanceof Error ? error.message : String(error)} (set CHAT_DEBUG=1 for details)`, 1);
});
