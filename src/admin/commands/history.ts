import { Option, type Command } from 'commander';
import { assertValidUsername } from '../../accounts/passwords.js';
import { sanitizeText } from '../../protocol/sanitize.js';
import { appendAudit, newAuditEntry } from '../../store/audit.js';
import { purgeMessages, queryMessages, type StoredMessage } from '../../store/history.js';
import { writeTransaction } from '../../store/open-store.js';
import { adminContext, writeJson } from '../context.js';
import type { AdminDeps } from '../deps.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { DEFAULT_AUDIT_LIMIT, parseAuditLimit, parseSince, parseSinceOrTime } from '../option-values.js';
import { addJsonOption, storeSettings, type AdminConfig, type JsonOptions } from '../options.js';
import { formatTime, renderTable } from '../render-table.js';
import { withStore } from '../store-access.js';

type ListOptions = JsonOptions & { since?: string; user?: string; limit: number };
type PurgeOptions = { before?: number; all?: boolean };

export function registerHistoryCommand(program: Command, deps: AdminDeps, settings: () => AdminConfig): void {
  const history = program.command('history').description('show and purge the stored room messages (recent history replayed at login)');

  addJsonOption(history.command('list', { isDefault: true }))
    .description('show stored room messages, oldest first: the most recent --limit that match (the default verb)')
    .addOption(new Option('--since <when>', 'only messages since then: a duration back from now (30m, 2h, 7d) or an ISO time (2026-12-01T10:00:00Z)').argParser((text) => parseSinceOrTime(text, deps.now)))
    .option('--user <name>', 'only messages from this user (any case)')
    .addOption(new Option('--limit <n>', 'at most this many messages, 1 to 10000').argParser(parseAuditLimit).default(DEFAULT_AUDIT_LIMIT))
    .action(async (options: ListOptions) => {
      const where = storeSettings(settings());
      if (options.user !== undefined) assertValidUsername(options.user);
      const rows = await withStore(where, { create: false }, (store) => queryMessages(store.db, { since: options.since, username: options.user, limit: options.limit }));
      if (options.json === true) {
        writeJson(deps, rows.map(messageJson));
        return;
      }
      // Stored text is sanitised by the server; sanitised again here, as a terminal is at stake.
      deps.stdout.write(renderTable(['time', 'user', 'text'], rows.map((row) => [formatTime(row.ts), sanitizeText(row.from), sanitizeText(row.text)]), 'no messages'));
    });

  history.command('purge')
    .description('delete stored room messages: those older than --before, or --all (audited)')
    .addOption(new Option('--before <duration>', 'delete messages older than this, a duration such as 1h, 7d').argParser(parseSince))
    .option('--all', 'delete every stored message')
    .action(async (options: PurgeOptions) => {
      const where = storeSettings(settings());
      if ((options.before === undefined) === (options.all !== true)) {
        throw new CliError('CONFLICTING_OPTIONS', 'say what to purge: either --before DURATION or --all', { exitCode: EXIT_USAGE });
      }
      const ctx = adminContext(deps);
      const before = options.before === undefined ? undefined : new Date(ctx.now().getTime() - options.before).toISOString();
      const deleted = await withStore(where, { create: false }, (store) =>
        writeTransaction(store.db, async (trx) => {
          const count = await purgeMessages(trx, before);
          await appendAudit(trx, newAuditEntry({ ts: ctx.now().toISOString(), event: 'history_purge', actor: ctx.actor, detail: `${before === undefined ? 'all' : `before ${before}`}: ${count} message${count === 1 ? '' : 's'}` }));
          return count;
        }),
      );
      deps.stdout.write(`deleted ${deleted} message${deleted === 1 ? '' : 's'}${before === undefined ? '' : ` older than ${formatTime(before)}`}\n`);
    });
}

function messageJson(row: StoredMessage): Record<string, unknown> {
  return { id: row.id, ts: row.ts, username: row.from, text: row.text };
}
