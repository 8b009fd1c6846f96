import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { appendAuditMany, sessionEndEntry, sessionsWithEnd } from '../store/audit.js';
import { deleteInstance, heartbeatInstance, listInstances, lockInstances, registerInstance, type InstanceCounts } from '../store/instances.js';
import type { Database, InstanceRow, SessionRow } from '../store/schema.js';
import { takeSessionsOfInstances } from '../store/sessions.js';
import { writeTransaction } from '../store/open-store.js';
import { INSTANCE_HEARTBEAT_MS, INSTANCE_STALE_MS, LivenessWatch, splitsRoom } from './instance-liveness.js';

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Another live instance on this database would split the room with this one (no bus on one of them, or other bus prefixes). */
export class InstanceConflictError extends Error {
  override readonly name = 'InstanceConflictError';
  readonly code = 'INSTANCE_CONFLICT';
}

/** What one read of the instances table found. */
export interface Sweep {
  /** Instances found dead and removed, with the sessions cleared with them. */
  reaped: string[];
  cleared: SessionRow[];
  /** Every other instance in the table now (the reaped ones not included). */
  present: Set<string>;
}

/**
 * This server's row in the instances table: registered at start, heartbeat
 * while running, removed at a clean stop. It also clears what dead instances
 * left behind (docs/cluster.md, "When an instance dies"), so their users can
 * log in again: at once for a process of this host that is gone, and for any
 * instance whose heartbeat stood still for INSTANCE_STALE_MS.
 */
export class InstanceRegistry {
  readonly hostname = hostname();
  readonly #watch = new LivenessWatch();
  /** performance.now() of the last heartbeat written. */
  #beatAt: number | undefined;
  #row: { listenAddress: string; startedAt: string; busPrefix: string | null } | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readonly instanceId: string,
    private readonly clock: () => Date,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  /** Writes this instance's row (again, after another instance cleared it: with the same start time). */
  async register(listenAddress: string, busPrefix: string | null): Promise<void> {
    const at = this.clock().toISOString();
    this.#row ??= { listenAddress, startedAt: at, busPrefix };
    await registerInstance(this.db, { id: this.instanceId, hostname: this.hostname, pid: process.pid, listen_address: listenAddress, started_at: this.#row.startedAt, heartbeat_at: at, bus_prefix: busPrefix });
    this.#beatAt = this.monotonic();
    this.#watch.reset();
  }

  async reregister(): Promise<void> {
    if (this.#row === undefined) throw new Error('reregister before register');
    await this.register(this.#row.listenAddress, this.#row.busPrefix);
  }

  /** Returns false when this instance's row is gone: another instance took it for dead and cleared its sessions. */
  async heartbeat(counts: InstanceCounts): Promise<boolean> {
    const present = await heartbeatInstance(this.db, this.instanceId, this.clock().toISOString(), counts);
    if (present) this.#beatAt = this.monotonic();
    return present;
  }

  /** One read of the table: clears the instances found dead. */
  async sweep(): Promise<Sweep> {
    const others = (await listInstances(this.db)).filter((row) => row.id !== this.instanceId);
    const stale = new Set(this.#watch.observe(others, this.monotonic(), this.#beatAt));
    const dead = others.filter((row) => stale.has(row.id) || this.#goneHere(row)).map((row) => row.id);
    const cleared = await this.#reap(dead);
    const present = new Set(others.map((row) => row.id));
    for (const id of dead) present.delete(id);
    return { reaped: dead, cleared, present };
  }

  /**
   * Before this instance starts: clears what processes of this host that are
   * gone left behind, and refuses (InstanceConflictError) when another live
   * instance would split the room with this one (`busPrefix` null: no bus).
   * One of this host lives while its process does; one of another host is
   * watched for up to INSTANCE_STALE_MS, and one whose heartbeat stands
   * still that long is dead and cleared. Returns
   * the sessions cleared and the ids of the instances seen.
   */
  async prepareStart(busPrefix: string | null): Promise<{ cleared: SessionRow[]; seen: Set<string> }> {
    let rows = await listInstances(this.db);
    const goneHere = rows.filter((row) => this.#goneHere(row)).map((row) => row.id);
    rows = rows.filter((row) => !goneHere.includes(row.id));
    const seen = new Set(rows.map((row) => row.id));
    const suspects = rows.filter((row) => splitsRoom(busPrefix, row));
    // On this host the process table says it at once.
    const runningHere = suspects.find((row) => row.hostname === this.hostname);
    if (runningHere !== undefined) throw conflict(busPrefix, runningHere);
    const dead: string[] = [];
    if (suspects.length > 0) {
      const first = new Map(suspects.map((row) => [row.id, row.heartbeat_at]));
      const deadline = this.monotonic() + INSTANCE_STALE_MS;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, INSTANCE_HEARTBEAT_MS / 2));
        const now = await listInstances(this.db);
        const alive = now.find((row) => first.has(row.id) && row.heartbeat_at !== first.get(row.id));
        if (alive !== undefined) throw conflict(busPrefix, alive);
        if (this.monotonic() >= deadline) {
          dead.push(...now.filter((row) => first.has(row.id)).map((row) => row.id));
          break;
        }
      }
    }
    return { cleared: await this.#reap([...goneHere, ...dead]), seen };
  }

  /**
   * After registering: an instance that would split the room and was not
   * there before this one's own check started at the same time; both refuse
   * rather than both run.
   */
  async checkNewcomers(busPrefix: string | null, seen: ReadonlySet<string>): Promise<void> {
    const rows = await listInstances(this.db);
    const newcomer = rows.find((row) => row.id !== this.instanceId && !seen.has(row.id) && splitsRoom(busPrefix, row) && !this.#goneHere(row));
    if (newcomer !== undefined) throw conflict(busPrefix, newcomer);
  }

  async unregister(): Promise<void> {
    await deleteInstance(this.db, this.instanceId);
  }

  /** A process of this host that is gone (known at once after a kill -9). */
  #goneHere(row: InstanceRow): boolean {
    return row.id !== this.instanceId && row.hostname === this.hostname && !isPidAlive(row.pid);
  }

  /** Removes these instances and their sessions, auditing each session as ended by a crash (once, whoever clears it). */
  async #reap(dead: readonly string[]): Promise<SessionRow[]> {
    if (dead.length === 0) return [];
    const now = this.clock();
    return writeTransaction(this.db, async (trx) => {
      // Locked first: another server reaping the same instance waits, then finds nothing left to audit.
      const still = await lockInstances(trx, dead);
      const sessions = await takeSessionsOfInstances(trx, still);
      // A session whose end its own server wrote (or spooled and replayed) is not audited again.
      const ended = await sessionsWithEnd(trx, sessions.map((session) => session.id));
      await appendAuditMany(
        trx,
        sessions
          .filter((session) => !ended.has(session.id))
          .map((session) =>
            sessionEndEntry(
              { sessionId: session.id, username: session.username, peerAddress: session.peer_address, mode: session.mode, instanceId: session.instance_id, connectedAt: Date.parse(session.connected_at) },
              'server_crashed',
              now.getTime(),
              `cleared by instance ${this.instanceId}`,
            ),
          ),
      );
      for (const id of still) await deleteInstance(trx, id);
      return sessions;
    });
  }
}

function conflict(busPrefix: string | null, other: InstanceRow): InstanceConflictError {
  const who = `instance ${other.id.slice(0, 8)} (${other.hostname} pid ${other.pid}, ${other.listen_address})`;
  if (busPrefix === null) {
    const how = other.bus_prefix === null ? 'start every instance with --bus redis://HOST:PORT (CHAT_BUS)' : `start this one with --bus and --bus-prefix ${other.bus_prefix}`;
    return new InstanceConflictError(`another chat-server is running on this database without a shared bus, which would split the room: ${who}; ${how} (docs/cluster.md)`);
  }
  if (other.bus_prefix === null) {
    return new InstanceConflictError(`another chat-server is running on this database without a bus, which would split the room: ${who}; restart it with --bus and --bus-prefix ${busPrefix} (docs/cluster.md)`);
  }
  return new InstanceConflictError(`another chat-server is running on this database with bus prefix ${other.bus_prefix}, not ${busPrefix}, which would split the room: ${who}; give every instance the same --bus-prefix (docs/cluster.md)`);
}
