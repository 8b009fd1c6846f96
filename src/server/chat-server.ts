import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { PasswordHasher } from '../accounts/hash-pool.js';
import { DummyHashes } from '../accounts/verify-credentials.js';
import type { EndRequest } from '../store/schema.js';
import type { Store } from '../store/open-store.js';
import { pendingEndRequests, touchSessions } from '../store/sessions.js';
import { pruneExpiredResumeTokens } from '../store/resume-tokens.js';
import { deleteTakeovers, pendingTakeovers } from '../store/session-takeovers.js';
import { GREETING_DELAY_MS } from '../protocol/limits.js';
import { networkPrefix, parseCidrList } from './cidr.js';
import type { ServerConfig } from './config.js';
import { admitOpen, admitPreLogin, AddressCounter, EVICTED_LINE, EVICTED_MESSAGE, PreLoginPool, REFUSAL_LINES } from './connection-caps.js';
import { Connection, type ConnectionContext } from './connection.js';
import { ClusterDirectMessages, LocalDirectMessages } from './direct-messages.js';
import { History } from './history.js';
import { MessageIdGenerator } from '../protocol/message-id.js';
import { InstanceRegistry } from './instance-registry.js';
import type { Logger } from './log.js';
import { LoginService } from './login-service.js';
import { throttlePolicy } from './login-throttle.js';
import { FlushScheduler } from './outbox.js';
import { Presence } from './presence.js';
import { SessionEndWriter } from './session-end-writer.js';
import { openTransport, PROXY_HEADER_TIMEOUT_MS, TLS_HANDSHAKE_TIMEOUT_MS, type TransportOptions } from './transport.js';
import { LocalRoom, type Room } from './room.js';
import { settleWithin } from '../util/settle-within.js';
import type { Bus } from '../bus/bus.js';
import { Cluster } from './cluster.js';
import { INSTANCE_HEARTBEAT_MS } from './instance-liveness.js';
import { startIdleTrim } from './idle-trim.js';

export interface ChatServerDeps {
  config: ServerConfig;
  store: Store;
  hasher: PasswordHasher;
  logger: Logger;
  /** `chat-server/<version>`, sent in the JSON hello. */
  serverName: string;
  clock?: () => Date;
  room?: Room;
  /** The certificate to serve TLS with (see tls-identity.ts); undefined = plain TCP only. */
  tls?: SecureContext;
  /** The message bus shared with the other instances (not started yet); undefined = a single server. */
  bus?: Bus;
  /** The bus's key prefix, recorded in the instances table so that instances that would split the room refuse to run together. */
  busPrefix?: string;
}

export interface ChatServer {
  readonly instanceId: string;
  /** Starts accepting connections; resolves with the address really bound. */
  listen(): Promise<AddressInfo>;
  /** Says goodbye to everyone, records every session's end, stops. Safe to call twice. */
  close(): Promise<void>;
  readonly connectionCount: number;
  /** Serves new TLS handshakes with this certificate from now on; open connections keep theirs. */
  useTlsContext(secureContext: SecureContext): void;
}

const ACTIVITY_FLUSH_MS = 5000;
/** Heartbeat of a server without a bus (the cluster's is INSTANCE_HEARTBEAT_MS). */
const SINGLE_HEARTBEAT_MS = 1000;
const SWEEP_MS = 1000;
const TOKEN_PRUNE_MS = 60_000;
/**
 * Resume transactions at once. SQLite runs one at a time anyway: a few in
 * flight keep its worker busy while the rest wait here, where the line is
 * bounded. On PostgreSQL a resume is a dozen round trips, mostly waiting:
 * all but two of the pool's connections (the session-end and history
 * writers, heartbeats and polls keep theirs), at least four.
 */
const SQLITE_RESUMES_RUNNING = 4;
const resumesRunning = (store: Store, poolSize: number): number => (store.dialect.name === 'postgres' ? Math.max(4, poolSize - 2) : SQLITE_RESUMES_RUNNING);
/** Resumes that may wait per place in --login-queue. */
const RESUMES_PER_CHECK = 32;
const TOKEN_PRUNE_BATCH = 500;
/** Batches per run at most: 10 000 tokens a minute, far more than logins can make. */
const TOKEN_PRUNE_BATCHES = 20;
/** At start, how long ends a previous run could not write get before the server goes on (they keep being retried). */
const SPOOL_REPLAY_WAIT_MS = 2000;
/** At shutdown, the least time session ends get to be written, even when clients took the whole grace to leave. */
const MIN_END_WRITE_MS = 500;
/** Told to the users of an instance the others took for dead (it stalled or was cut off) when it finds out. */
const CLEARED_MESSAGE = 'this server lost touch with the others, which ended its sessions; log in again';

const ignoreError = (): void => undefined;

/**
 * A connection not logged in yet, as the pre-login pool holds it: how to end
 * it if a newcomer needs its place. A class, not closures over `accept`:
 * those would keep the whole accept scope (its strings and helpers, about
 * 0.4 kB) alive for as long as the connection lasts.
 */
class PendingLogin {
  /** Set once the socket became a Connection. */
  connection: Connection | undefined;
  /** Ended for a newcomer before it became a Connection. */
  evicted = false;

  constructor(
    public peer: string,
    private readonly socket: Socket,
  ) {}

  end(): void {
    if (this.connection !== undefined) {
      this.connection.session.end('login_timeout', EVICTED_MESSAGE);
      return;
    }
    // Until it is a Connection, an evicted login is told in one plain line and closed.
    this.evicted = true;
    const socket = this.socket;
    socket.on('error', ignoreError);
    socket.end(EVICTED_LINE);
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}


/** Builds the server; nothing listens until `listen()`. */
export async function createChatServer(deps: ChatServerDeps): Promise<ChatServer> {
  const { config, store, hasher, logger, serverName } = deps;
  const clock = deps.clock ?? (() => new Date());
  // Read per line and per message: without an injected clock, no Date is allocated for it.
  const now = deps.clock === undefined ? Date.now : () => clock().getTime();
  const db = store.db;
  // With a bus the instance is known by the bus's id: messages addressed to it (a kick) find it.
  const instanceId = deps.bus?.instanceId ?? randomUUID();
  const registry = new InstanceRegistry(db, instanceId, clock);
  const dummies = await DummyHashes.create(hasher, config.bcryptCost);
  const scheduler = new FlushScheduler({ windowMaxMs: config.flushWindowMs });
  const ids = new MessageIdGenerator(instanceId, now);
  const cluster = new Cluster(deps.room ?? new LocalRoom(scheduler), deps.bus, () => ids.next(), logger);
  const busPrefix = deps.bus === undefined ? null : (deps.busPrefix ?? 'chat:');
  const room = cluster.room;
  const spoolFile = `${store.localBase}.unwritten-ends`;
  const ends = new SessionEndWriter(db, logger, { spoolFile });
  const presence = new Presence(room, ends, instanceId, now);
  const history = new History(db, logger, { limit: config.historyLimit, retentionMs: config.historyRetentionMs }, now);
  const findMember = (username: string) => presence.member(username);
  const directs = cluster.bus === undefined ? new LocalDirectMessages(findMember) : new ClusterDirectMessages(findMember, cluster.bus, (username) => cluster.locate(username));
  // Said elsewhere, stored by its own instance: kept in memory here so that a login here replays it even before it is written.
  const unsubscribeHeard = cluster.onRemoteMessage((message) => history.heard(message));

  const connections = new Map<string, Connection>();
  const logins = new LoginService(db, presence, hasher, dummies, instanceId, logger, clock, throttlePolicy(config), {
    ttlMs: config.resumeTtlMs,
    running: resumesRunning(store, config.dbPoolSize),
    // The login queue's bound in resumes: a resume costs about a hundredth of a password check at cost 12, so the line may be that much longer for the same wait.
    waiting: config.loginQueue === 0 ? Infinity : config.loginQueue * RESUMES_PER_CHECK,
    endLocal(sessionId) {
      const connection = connections.get(sessionId);
      if (connection === undefined || !connection.loggedIn) return false;
      connection.endReplaced(false);
      return true;
    },
  });

  const open = new AddressCounter();
  const preLogin = new PreLoginPool<PendingLogin>();
  const pendingOf = new WeakMap<Connection, PendingLogin>();
  const prefixOf = (address: string): string => networkPrefix(address, config.prefixV4, config.prefixV6);
  const timers: NodeJS.Timeout[] = [];
  let server: Server | undefined;
  let closing: Promise<void> | undefined;
  let stopIdleTrim = (): void => undefined;

  /** A connection leaves the pre-login pool (logged in, or gone) and its pending login is dropped. */
  const forgetPending = (connection: Connection): void => {
    const pending = pendingOf.get(connection);
    if (pending === undefined) return;
    preLogin.remove(pending);
    pendingOf.delete(connection);
  };

  const context: ConnectionContext = {
    config,
    room,
    presence,
    logins,
    history,
    directs,
    scheduler,
    logger,
    serverName,
    now,
    nextMessageId: () => ids.next(),
    loggedIn(connection) {
      forgetPending(connection);
    },
    closed(connection) {
      if (!connections.delete(connection.id)) return;
      open.remove(connection.peerAddress);
      forgetPending(connection);
    },
  };

  let transportOptions: TransportOptions = {
    secureContext: deps.tls,
    requireTls: config.requireTls,
    proxyProtocol: config.proxyProtocol,
    trustedProxies: parseCidrList(config.trustedProxies),
    sniffMs: GREETING_DELAY_MS,
    proxyHeaderTimeoutMs: PROXY_HEADER_TIMEOUT_MS,
    handshakeTimeoutMs: TLS_HANDSHAKE_TIMEOUT_MS,
  };
  /** Sockets still in the PROXY header, TLS sniffing or the handshake. */
  const negotiating = new Set<Socket>();

  const accept = (socket: Socket): void => {
    // No address: the peer reset the connection before it was accepted (a load balancer's health check does that every few hundred ms).
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    const socketAddress = socket.remoteAddress;
    const via = `${socketAddress}:${socket.remotePort ?? 0}`;
    if (closing !== undefined) {
      socket.destroy();
      return;
    }
    // Behind a proxy the connection counts in the open total, under the proxy's address, until its header names the client.
    let held = config.proxyProtocol;
    if (held) {
      const refusal = admitOpen({ ...config, maxPerAddress: 0 }, open, socketAddress);
      if (refusal !== undefined) {
        logger.info('refused', { peer: via, why: refusal });
        socket.on('error', () => undefined);
        socket.end(REFUSAL_LINES[refusal]);
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      open.add(socketAddress);
    }
    const unhold = (): void => {
      if (!held) return;
      held = false;
      open.remove(socketAddress);
    };
    let admitted: string | undefined;
    const pending = new PendingLogin(via, socket);
    const admitPeer = (address: string, port: number): string | undefined => {
      unhold();
      const peer = `${address}:${port}`;
      const prefix = prefixOf(address);
      const refusal = admitOpen(config, open, address);
      const decision = refusal === undefined ? admitPreLogin(config, preLogin, address, prefix) : ({ admit: false, refusal } as const);
      if (!decision.admit) {
        logger.info('refused', { peer, why: decision.refusal, via: config.proxyProtocol ? via : undefined });
        return REFUSAL_LINES[decision.refusal];
      }
      if (decision.evict !== undefined) {
        preLogin.remove(decision.evict);
        logger.info('refused', { peer: decision.evict.peer, why: 'prelogin_evicted', for: peer });
        decision.evict.end();
      }
      open.add(address);
      pending.peer = peer;
      preLogin.add(pending, address, prefix);
      admitted = address;
      return undefined;
    };
    /** A connection that never became a Connection gives its slots back. */
    const releaseAdmitted = (): void => {
      if (admitted === undefined) return;
      open.remove(admitted);
      preLogin.remove(pending);
      admitted = undefined;
    };
    negotiating.add(socket);
    openTransport(socket, transportOptions, admitPeer)
      .then((outcome) => {
        negotiating.delete(socket);
        unhold();
        if (outcome.ok && closing === undefined && !pending.evicted) {
          const connection = new Connection(outcome, context);
          connections.set(connection.id, connection);
          pendingOf.set(connection, pending);
          pending.connection = connection;
          logger.info('connect', { peer: connection.peer, transport: outcome.transport, via: config.proxyProtocol ? via : undefined, connections: connections.size });
          return;
        }
        releaseAdmitted();
        if (outcome.ok) {
          outcome.stream.destroy();
          socket.destroy();
        } else if (pending.evicted) {
          // Logged when it was evicted.
        } else if (outcome.reason === 'closed') {
          logger.info('disconnect', { peer: `${outcome.peerAddress}:${outcome.peerPort}`, reason: 'disconnected', via: config.proxyProtocol ? via : undefined });
        } else if (outcome.reason !== 'admission') {
          logger.info('refused', { peer: `${outcome.peerAddress}:${outcome.peerPort}`, why: outcome.reason, detail: outcome.detail, via: config.proxyProtocol ? via : undefined });
        }
      })
      .catch((error: unknown) => {
        negotiating.delete(socket);
        unhold();
        releaseAdmitted();
        socket.destroy();
        logger.error('transport_error', { peer: via, error: error instanceof Error ? error.message : String(error) });
      });
  };

  /** Ends sessions that chat-admin asked to end (kick, remove, disable). */
  const pollEndRequests = async (): Promise<void> => {
    for (const row of await pendingEndRequests(db, instanceId)) {
      const connection = connections.get(row.id);
      // No connection: the user already left and the seat's end, queued, releases the row.
      if (connection === undefined) continue;
      const kind: EndRequest = row.end_request ?? 'kicked';
      connection.session.end(kind, row.end_request_note ?? undefined);
    }
  };

  /** Ends the connections whose sessions a resume on another instance took over (the database carries the request). */
  const pollTakeovers = async (): Promise<void> => {
    const takeovers = await pendingTakeovers(db, instanceId);
    if (takeovers.length === 0) return;
    for (const takeover of takeovers) {
      const connection = connections.get(takeover.session_id);
      if (connection === undefined || !connection.loggedIn) continue;
      logger.info('session_replaced', { user: connection.username, peer: connection.peer, session: takeover.session_id, by: takeover.by_session_id });
      connection.endReplaced(true);
    }
    await deleteTakeovers(db, takeovers.map((takeover) => takeover.session_id));
  };

  /** Expired resume tokens go in bounded batches, a few every minute, so a backlog never holds the write lock long. */
  const pruneTokens = async (): Promise<void> => {
    for (let batch = 0; batch < TOKEN_PRUNE_BATCHES; batch += 1) {
      if ((await pruneExpiredResumeTokens(db, now(), TOKEN_PRUNE_BATCH)) < TOKEN_PRUNE_BATCH) return;
    }
  };

  /** Ends a session chat-admin asked, over the bus, to end (the database has the request too: see pollEndRequests). */
  const unsubscribeEnds = cluster.onSessionEnd((request) => {
    if (request.sessionId === undefined) return;
    const connection = connections.get(request.sessionId);
    if (connection === undefined || !connection.loggedIn || connection.username !== request.username) return;
    connection.session.end(request.kind, request.note);
  });

  /**
   * Another instance took this one for dead (it stalled or was cut off for
   * longer than the stale time) and cleared its sessions, audited them as
   * ended and told the others they left: those users may already be logged in
   * elsewhere. Its sessions end here too (their ends find the audit written),
   * and it registers again, empty, to go on serving.
   */
  const rejoin = async (): Promise<void> => {
    const held = [...connections.values()].filter((connection) => connection.loggedIn);
    logger.error('instance_cleared', { instance: instanceId, sessions: held.length });
    for (const connection of held) connection.session.end('shutdown', CLEARED_MESSAGE);
    await registry.reregister();
    cluster.rejoined();
  };

  const heartbeat = async (): Promise<void> => {
    if (!(await registry.heartbeat({ connections: connections.size, users: room.size }))) await rejoin();
  };

  /** Clears instances found dead; the members here hear their users leave. */
  const sweepInstances = async (): Promise<void> => {
    const heardBefore = cluster.heardFrom();
    const sweep = await registry.sweep();
    if (sweep.cleared.length > 0) logger.info('cleared_stale_sessions', { count: sweep.cleared.length, users: sweep.cleared.map((s) => s.username).join(','), instances: sweep.reaped.join(',') });
    cluster.afterSweep(sweep, heardBefore);
  };

  const flushActivity = async (): Promise<void> => {
    const active: string[] = [];
    for (const connection of connections.values()) {
      if (!connection.activeSinceFlush) continue;
      connection.activeSinceFlush = false;
      active.push(connection.id);
    }
    await touchSessions(db, active, clock().toISOString());
  };

  /** Drops clients whose pending output has not moved within the write timeout. */
  const sweepStalled = (): void => {
    for (const connection of connections.values()) {
      if (connection.writeStalled) {
        logger.info('write_timeout', { user: connection.username, peer: connection.peer, queued: connection.pendingOutputBytes });
        connection.session.end('timeout');
      }
    }
  };

  const every = (ms: number, what: string, work: () => Promise<void> | void): void => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      Promise.resolve()
        .then(work)
        .catch((error: unknown) => logger.error('store_error', { during: what, error: error instanceof Error ? error.message : String(error) }))
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    timers.push(timer);
  };

  return {
    instanceId,
    useTlsContext(secureContext) {
      transportOptions = { ...transportOptions, secureContext };
    },
    get connectionCount() {
      return connections.size;
    },

    async listen() {
      // Ends a previous run could not write go first, so that the crash clean-up below finds them written.
      if (ends.loadSpool() > 0) await ends.settle(Date.now() + SPOOL_REPLAY_WAIT_MS);
      // A bus that cannot be reached fails the start before anything listens.
      await cluster.start();
      const { cleared, seen } = await registry.prepareStart(busPrefix);
      if (cleared.length > 0) logger.info('cleared_stale_sessions', { count: cleared.length, users: cleared.map((s) => s.username).join(',') });
      // Half-open: a client that sends its lines and then FIN (`nc -N`, a piped script) still reads the replies.
      server = createServer({ noDelay: true, allowHalfOpen: true }, accept);
      server.on('error', (error) => logger.error('listen_error', { error: error.message }));
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(config.port, config.host, () => {
          server!.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      await registry.register(`${address.address}:${address.port}`, busPrefix);
      try {
        await registry.checkNewcomers(busPrefix, seen);
      } catch (error) {
        await registry.unregister().catch(() => undefined);
        await new Promise<void>((resolve) => server!.close(() => resolve()));
        await cluster.close();
        throw error;
      }
      cluster.announce();
      if (deps.bus !== undefined) {
        // Separate timers: a slow clean-up must not hold back this instance's own heartbeat.
        every(INSTANCE_HEARTBEAT_MS, 'instance_heartbeat', heartbeat);
        every(INSTANCE_HEARTBEAT_MS, 'instance_sweep', sweepInstances);
      } else {
        // A single server has nobody to fail over to: a slower beat keeps its writes (on SQLite, queued behind a lock) few.
        every(SINGLE_HEARTBEAT_MS, 'instance_heartbeat', async () => {
          await heartbeat();
          await sweepInstances();
        });
      }
      every(config.adminPollMs, 'admin_poll', pollEndRequests);
      every(config.adminPollMs, 'takeover_poll', pollTakeovers);
      every(TOKEN_PRUNE_MS, 'resume_token_prune', pruneTokens);
      every(ACTIVITY_FLUSH_MS, 'activity_flush', flushActivity);
      every(SWEEP_MS, 'write_timeout_sweep', sweepStalled);
      if (config.heartbeatMs > 0) {
        // One timer for every connection's heartbeat, not one each (a Timeout and its arguments: about 0.2 kB per idle connection).
        const beat = setInterval(() => {
          for (const connection of connections.values()) connection.heartbeat();
        }, config.heartbeatMs);
        beat.unref();
        timers.push(beat);
      }
      history.start();
      stopIdleTrim = startIdleTrim(config.idleTrimMs);
      return address;
    },

    close() {
      closing ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        stopIdleTrim();
        const stopped = new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
        for (const socket of negotiating) socket.destroy();
        const deadline = Date.now() + config.shutdownGraceMs;
        for (const connection of [...connections.values()]) connection.session.end('shutdown');
        // Let clients read their goodbye, then cut whoever is still there.
        while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const connection of connections.values()) connection.destroy();
        await stopped;
        directs.close();
        unsubscribeHeard();
        const clusterClosed = cluster.close();
        // A store that does not answer in time keeps the unwritten ends in the spool, for the next start.
        const writeBy = Math.max(deadline, Date.now() + MIN_END_WRITE_MS);
        const [unwritten] = await Promise.all([history.stop(writeBy), ends.settle(writeBy)]);
        if (unwritten > 0) logger.error('history_unwritten', { count: unwritten });
        const spooled = ends.stop();
        if (spooled > 0) logger.error('session_ends_spooled', { count: spooled, file: spoolFile });
        unsubscribeEnds();
        await Promise.all([withDeadline(registry.unregister(), MIN_END_WRITE_MS).catch(() => undefined), clusterClosed]);
      })();
      return closing;
    },
  };
}

/** Settles with `work`, or rejects after `ms` (the work itself goes on). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return settleWithin(work, ms, () => {
    throw new Error(`no answer within ${ms} ms`);
  }, true);
}
