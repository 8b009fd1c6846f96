import type { Command } from 'commander';
import type { InstanceRow, SessionRow } from '../../store/schema.js';
import { listInstances } from '../../store/instances.js';
import { listSessions } from '../../store/sessions.js';
import { writeJson } from '../context.js';
import type { AdminDeps } from '../deps.js';
import { addJsonOption, storeSettings, type JsonOptions, type AdminConfig } from '../options.js';
import { formatAge, formatShortTime, formatTime, renderTable } from '../render-table.js';
import { withStore } from '../store-access.js';

export function registerSessionsCommand(program: Command, deps: AdminDeps, settings: () => AdminConfig): void {
  addJsonOption(program.command('sessions'))
    .description('list live sessions: user, peer address, connected since, idle time, which server (fits 80 columns; --wide for every field)')
    .option('--wide', 'full times, the full server instance id and its host/pid')
    .action(async (options: JsonOptions & { wide?: boolean }) => {
      const where = storeSettings(settings());
      const { sessions, instances } = await withStore(where, { create: false }, async (store) => ({
        sessions: await listSessions(store.db),
        instances: await listInstances(store.db),
      }));
      const instanceById = new Map(instances.map((instance) => [instance.id, instance]));
      if (options.json === true) {
        writeJson(deps, sessions.map((session) => sessionJson(session, instanceById.get(session.instance_id))));
        return;
      }
      if (options.wide === true) {
        const rows = sessions.map((session) => [
          session.username,
          session.peer_address,
          formatTime(session.connected_at),
          formatTime(session.last_activity_at),
          serverLabel(session.instance_id, instanceById.get(session.instance_id)),
          session.end_request,
        ]);
        deps.stdout.write(renderTable(['user', 'peer', 'connected', 'last activity', 'server', 'end requested'], rows, 'no live sessions'));
        return;
      }
      const now = deps.now().getTime();
      const rows = sessions.map((session) => [
        session.username,
        session.peer_address,
        formatShortTime(session.connected_at),
        formatAge(now - Date.parse(session.last_activity_at)),
        shortInstanceId(session.instance_id),
        session.end_request,
      ]);
      deps.stdout.write(renderTable(['user', 'peer', 'connected (UTC)', 'idle', 'server', 'end'], rows, 'no live sessions'));
    });
}

/** The first 8 characters of an instance UUID, as git shortens a commit: enough to tell a few servers apart. */
export function shortInstanceId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

function serverLabel(instanceId: string, instance: InstanceRow | undefined): string {
  return instance === undefined ? instanceId : `${instanceId} (${instance.hostname}/${instance.pid})`;
}

function sessionJson(session: SessionRow, instance: InstanceRow | undefined): Record<string, unknown> {
  return {
    sessionId: session.id,
    username: session.username,
    peerAddress: session.peer_address,
    mode: session.mode,
    connectedAt: session.connected_at,
    lastActivityAt: session.last_activity_at,
    instanceId: session.instance_id,
    hostname: instance?.hostname ?? null,
    pid: instance?.pid ?? null,
    instanceListenAddress: instance?.listen_address ?? null,
    endRequest: session.end_request,
    endRequestNote: session.end_request_note,
    endRequestedBy: session.end_requested_by,
  };
}
