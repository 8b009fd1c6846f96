import { Option, type Command } from 'commander';
import { queryAudit } from '../../store/audit.js';
import { AUDIT_EVENTS, type AuditEvent, type AuditRow } from '../../store/schema.js';
import { writeJson } from '../context.js';
import type { AdminDeps } from '../deps.js';
import { DEFAULT_AUDIT_LIMIT, parseAuditLimit, parseSince } from '../option-values.js';
import { addJsonOption, storeSettings, type JsonOptions, type AdminConfig } from '../options.js';
import { formatTime, renderTable } from '../render-table.js';
import { withStore } from '../store-access.js';

type AuditOptions = JsonOptions & { user?: string; event?: AuditEvent; since?: number; limit: number };

export function registerAuditCommand(program: Command, deps: AdminDeps, settings: () => AdminConfig): void {
  addJsonOption(program.command('audit'))
    .description('show the audit log, newest first')
    .option('--user <name>', 'only rows about this user (any case)')
    .addOption(new Option('--event <kind>', 'only rows of this event').choices(AUDIT_EVENTS))
    .addOption(new Option('--since <duration>', 'only rows newer than this, a duration such as 30s, 15m, 2h, 7d').argParser(parseSince))
    .addOption(new Option('--limit <n>', 'at most this many rows, 1 to 10000').argParser(parseAuditLimit).default(DEFAULT_AUDIT_LIMIT))
    .action(async (options: AuditOptions) => {
      const where = storeSettings(settings());
      const since = options.since === undefined ? undefined : new Date(deps.now().getTime() - options.since).toISOString();
      const rows = await withStore(where, { create: false }, (store) =>
        queryAudit(store.db, { username: options.user, event: options.event, since, limit: options.limit }),
      );
      if (options.json === true) {
        writeJson(deps, rows.map(auditJson));
        return;
      }
      const cells = rows.map((row) => [formatTime(row.ts), row.event, row.username, row.outcome, row.actor, summary(row)]);
      deps.stdout.write(renderTable(['time', 'event', 'user', 'outcome', 'actor', 'detail'], cells, 'no audit rows'));
    });
}

/** The free-text columns folded into one, so the table stays narrow. */
function summary(row: AuditRow): string | null {
  const parts = [row.reason, row.detail, row.peer_address === null ? null : `from ${row.peer_address}`].filter((part) => part !== null);
  return parts.length === 0 ? null : parts.join('; ');
}

function auditJson(row: AuditRow): Record<string, unknown> {
  return {
    id: row.id,
    ts: row.ts,
    event: row.event,
    username: row.username,
    outcome: row.outcome,
    reason: row.reason,
    peerAddress: row.peer_address,
    mode: row.mode,
    instanceId: row.instance_id,
    sessionId: row.session_id,
    durationMs: row.duration_ms,
    actor: row.actor,
    detail: row.detail,
  };
}
