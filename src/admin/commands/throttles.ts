import type { Command } from 'commander';
import { assertValidUsername } from '../../accounts/passwords.js';
import { clearThrottles } from '../../accounts/user-admin.js';
import { failuresInWindow, isLockedAt, listThrottles, throttleAddressKey, type ThrottleKeys, type ThrottleRecord } from '../../store/throttles.js';
import { usernameKey } from '../../store/users.js';
import { adminContext, writeJson } from '../context.js';
import type { AdminDeps } from '../deps.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { addJsonOption, storeSettings, type JsonOptions, type AdminConfig } from '../options.js';
import { formatTime, renderTable } from '../render-table.js';
import { withStore } from '../store-access.js';

type ClearOptions = { address?: string; user?: string; all?: boolean };

export function registerThrottlesCommand(program: Command, deps: AdminDeps, settings: () => AdminConfig): void {
  const throttles = program.command('throttles').description('list and clear login throttles (addresses and usernames locked after failed logins)');

  addJsonOption(throttles.command('list', { isDefault: true }))
    .description('list addresses and usernames with recent failed logins or a lock (the default verb)')
    .action(async (options: JsonOptions) => {
      const where = storeSettings(settings());
      const now = deps.now().getTime();
      const records = await withStore(where, { create: false }, (store) => listThrottles(store.db, now));
      if (options.json === true) {
        writeJson(deps, records.map((record) => throttleJson(record, now)));
        return;
      }
      const rows = records.map((record) => [
        record.kind,
        record.key,
        failuresInWindow(record, now).length,
        isLockedAt(record, now) ? formatTime(new Date(record.lockedUntil!).toISOString()) : null,
        record.penaltyLevel,
        formatTime(new Date(record.updatedAt).toISOString()),
      ]);
      deps.stdout.write(renderTable(['kind', 'key', 'failures in window', 'locked until', 'penalty level', 'last failure'], rows, 'no throttles'));
    });

  throttles.command('clear')
    .description('forget the failed logins and locks of an address, a username, or all')
    .option('--address <addr>', 'a client address (an IPv6 address clears its /64)')
    .option('--user <name>', 'a username (any case)')
    .option('--all', 'every throttle')
    .action(async (options: ClearOptions) => {
      const where = storeSettings(settings());
      const which = clearTarget(options);
      const cleared = await withStore(where, { create: false }, (store) => clearThrottles(store.db, which, adminContext(deps)));
      const what = which === 'all' ? '' : ` for ${describeKeys(which)}`;
      deps.stdout.write(cleared.length === 0 ? `nothing to clear${what}\n` : `cleared ${cleared.length} throttle${cleared.length === 1 ? '' : 's'}${what}\n`);
    });
}

function clearTarget(options: ClearOptions): ThrottleKeys | 'all' {
  const keyed = options.address !== undefined || options.user !== undefined;
  if (options.all === true && keyed) {
    throw new CliError('CONFLICTING_OPTIONS', 'use either --all or --address/--user, not both', { exitCode: EXIT_USAGE });
  }
  if (options.all === true) return 'all';
  if (!keyed) throw new CliError('CONFLICTING_OPTIONS', 'say what to clear: --address ADDR, --user NAME or --all', { exitCode: EXIT_USAGE });
  if (options.user !== undefined) assertValidUsername(options.user);
  return {
    address: options.address === undefined ? undefined : throttleAddressKey(options.address.trim()),
    user: options.user === undefined ? undefined : usernameKey(options.user),
  };
}

function describeKeys(keys: ThrottleKeys): string {
  return [keys.address === undefined ? null : `address ${keys.address}`, keys.user === undefined ? null : `user ${keys.user}`].filter((part) => part !== null).join(' and ');
}

function throttleJson(record: ThrottleRecord, now: number): Record<string, unknown> {
  return {
    kind: record.kind,
    key: record.key,
    failuresInWindow: failuresInWindow(record, now).length,
    lockedUntil: isLockedAt(record, now) ? new Date(record.lockedUntil!).toISOString() : null,
    penaltyLevel: record.penaltyLevel,
    lastFailureAt: new Date(record.updatedAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
  };
}
