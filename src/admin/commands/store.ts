import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { copyStore, type CopyCounts } from '../../store/copy.js';
import { isPostgresUrl } from '../../store/dialects/postgres-url.js';
import { describeStoreLocation, openStore } from '../../store/open-store.js';
import type { AdminDeps } from '../deps.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { storeSettings, type AdminConfig } from '../options.js';
import { withStore } from '../store-access.js';

export function registerStoreCommands(program: Command, deps: AdminDeps, settings: () => AdminConfig): void {
  const store = program.command('store').description('whole-store operations (moving a deployment to another database)');

  store
    .command('copy')
    .description('copy every user (password hashes as they are), login throttle, audit row, history message and resume token from --db into a new, empty store')
    .requiredOption('--to <path|url>', 'the target: a SQLite file (created if missing) or a postgres:// URL of an existing, empty database')
    .action(async (options: { to: string }) => {
      const where = storeSettings(settings());
      const to = options.to.trim();
      if (to === '') throw new CliError('CONFLICTING_OPTIONS', '--to must name a SQLite file or a postgres:// URL', { exitCode: EXIT_USAGE });
      if (locationKey(to) === locationKey(where.file)) throw new CliError('CONFLICTING_OPTIONS', `--to names the source store itself (${describeStoreLocation(to)})`, { exitCode: EXIT_USAGE });
      const counts = await withStore(where, { create: false }, async (source) => {
        const existed = isPostgresUrl(to) || existsSync(resolve(to));
        // Migrations are applied on the target as it opens; one connection is all the copy uses.
        const target = await openStore({ file: to, create: true, busyTimeoutMs: where.busyTimeoutMs, poolSize: 1, thread: 'inline' });
        if (!existed) deps.stderr.write(`created database ${target.file}\n`);
        try {
          return await copyStore(source, target);
        } catch (error) {
          throw target.translateError(error);
        } finally {
          await target.close();
        }
      });
      deps.stdout.write(`copied ${describeCounts(counts)} to ${describeStoreLocation(to)}\n`);
    });
}


function locationKey(location: string): string {
  if (!isPostgresUrl(location)) return resolve(location);
  try {
    const url = new URL(location);
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return location;
  }
}

export function describeCounts(counts: CopyCounts): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return [
    n(counts.users, 'user', 'users'),
    n(counts.login_throttles, 'login throttle', 'login throttles'),
    n(counts.audit_log, 'audit row', 'audit rows'),
    n(counts.messages, 'history message', 'history messages'),
    n(counts.resume_tokens, 'resume token', 'resume tokens'),
  ].join(', ');
}
