import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { appendAuditMany, sessionEndEntry, sessionsWithEnd } from '../store/audit.js';
import { deadInstances, deleteInstance, heartbeatInstance, listInstances, lockInstances, registerInstance } from '../store/instances.js';
import type { Database, SessionRow } from '../store/schema.js';
import { sessionsOfInstances } from '../store/sessions.js';
import { writeTransaction } from '../store/open-store.js';

/** An instance whose heartbeat is older than this is dead, wherever it ran. */
const INSTANCE_STALE_MS = 15_000;

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * This server's row in the instances table: registered at start, heartbeat
 * while running, removed at a clean stop. It also clears what crashed
 * instances left behind, so their users can log in again.
 */
export class InstanceRegistry {
  readonly hostname = hostname();

  constructor(
    private readonly db: Kysely<Database>,
    readonly instanceId: string,
    private readonly clock: () => Date,
  ) {}

  async register(listenAddress: string): Promise<void> {
    const at = this.clock().toISOString();
    await registerInstance(this.db, { id: this.instanceId, hostname: this.hostname, pid: process.pid, listen_address: listenAddress, started_at: at, heartbeat_at: at });
  }

  async heartbeat(): Promise<void> {
    await heartbeatInstance(this.db, this.instanceId, this.clock().toISOString());
  }

  /** Removes dead instances and their sessions (auditing each as ended by a crash); returns the sessions cleared. */
  async reapDead(): Promise<SessionRow[]> {
    const now = this.clock();
    const dead = deadInstances(await listInstances(this.db), {
      selfId: this.instanceId,
      hostname: this.hostname,
      staleBefore: new Date(now.getTime() - INSTANCE_STALE_MS).toISOString(),
      isPidAlive,
    });
    if (dead.length === 0) return [];
    return writeTransaction(this.db, async (trx) => {
      // Locked first: another server reaping the same instance waits, then finds nothing left to audit.
      const still = await lockInstances(trx, dead.map((instance) => instance.id));
      const sessions = await sessionsOfInstances(trx, still);
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
      // Sessions go with their instance (ON DELETE CASCADE).
      for (const id of still) await deleteInstance(trx, id);
      return sessions;
    });
  }

  async unregister(): Promise<void> {
    await deleteInstance(this.db, this.instanceId);
  }
}
