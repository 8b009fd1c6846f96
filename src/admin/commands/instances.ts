import type { Command } from 'commander';
import type { InstanceRow } from '../../store/schema.js';
import { listInstances } from '../../store/instances.js';
import { INSTANCE_STALE_MS } from '../../server/instance-liveness.js';
import { writeJson } from '../context.js';
import type { AdminDeps } from '../deps.js';
import { addJsonOption, storeSettings, type JsonOptions, type AdminConfig } from '../options.js';
import { formatAge, formatShortTime, renderTable } from '../render-table.js';
import { withStore } from '../store-access.js';
import { shortInstanceId } from './sessions.js';

export function registerInstancesCommand(program: Command, deps: AdminDeps, settings: () => AdminConfig): void {
  addJsonOption(program.command('instances'))
    .description('list the chat-server instances on this database: id, host, pid, listen address, started, last heartbeat, connections, logged-in users')
    .action(async (options: JsonOptions) => {
      const where = storeSettings(settings());
      const instances = await withStore(where, { create: false }, (store) => listInstances(store.db));
      const now = deps.now().getTime();
      if (options.json === true) {
        writeJson(deps, instances.map((instance) => instanceJson(instance, now)));
        return;
      }
      const rows = instances.map((instance) => [
        shortInstanceId(instance.id),
        instance.hostname,
        instance.pid,
        instance.listen_address,
        formatShortTime(instance.started_at),
        heartbeatCell(instance, now),
        instance.connections,
        instance.users,
      ]);
      deps.stdout.write(renderTable(['id', 'host', 'pid', 'listen', 'started (UTC)', 'heartbeat', 'conns', 'users'], rows, 'no instances running'));
    });
}

/**
 * By this machine's clock. An instance the others found dead is removed from
 * the table by them; a row left with an old heartbeat (no other instance
 * running to clear it) is marked.
 */
function isStale(instance: InstanceRow, now: number): boolean {
  return now - Date.parse(instance.heartbeat_at) > INSTANCE_STALE_MS;
}

function heartbeatCell(instance: InstanceRow, now: number): string {
  const age = `${formatAge(now - Date.parse(instance.heartbeat_at))} ago`;
  return isStale(instance, now) ? `${age} (stale)` : age;
}

function instanceJson(instance: InstanceRow, now: number): Record<string, unknown> {
  return {
    instanceId: instance.id,
    hostname: instance.hostname,
    pid: instance.pid,
    listenAddress: instance.listen_address,
    startedAt: instance.started_at,
    heartbeatAt: instance.heartbeat_at,
    stale: isStale(instance, now),
    connections: instance.connections,
    users: instance.users,
    busPrefix: instance.bus_prefix,
  };
}
