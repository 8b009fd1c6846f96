import type { Command } from 'commander';
import { assertValidUsername } from '../../accounts/passwords.js';
import { kickUser } from '../../accounts/user-admin.js';
import { adminContext } from '../context.js';
import type { AdminDeps } from '../deps.js';
import { CliError } from '../errors.js';
import { storeSettings, type AdminConfig } from '../options.js';
import { signalSessionEnd } from '../session-signal.js';
import { withStore } from '../store-access.js';

export function registerKickCommand(program: Command, deps: AdminDeps, settings: () => AdminConfig): void {
  program.command('kick <name>')
    .description("ask the server to end a user's live session (the user may log in again; see user disable)")
    .option('--reason <text>', 'why; shown in the audit log and passed to the server')
    .action(async (name: string, options: { reason?: string }) => {
      const config = settings();
      const where = storeSettings(config);
      assertValidUsername(name);
      const reason = options.reason ?? null;
      const session = await withStore(where, { create: false }, (store) => kickUser(store.db, name, reason, adminContext(deps)));
      if (session === undefined) throw new CliError('NO_LIVE_SESSION', `user ${name} has no live session`);
      await signalSessionEnd(config, session, 'kicked', reason, deps.stderr);
      deps.stdout.write(`asked the server to end the session of ${name}\n`);
    });
}
