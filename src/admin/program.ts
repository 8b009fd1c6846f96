import { Command } from 'commander';
import { DURATION_RULE } from '../config/value-grammar.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerHistoryCommand } from './commands/history.js';
import { registerInstancesCommand } from './commands/instances.js';
import { registerKickCommand } from './commands/kick.js';
import { registerSessionsCommand } from './commands/sessions.js';
import { registerStoreCommands } from './commands/store.js';
import { registerThrottlesCommand } from './commands/throttles.js';
import { registerUserCommands } from './commands/user.js';
import type { AdminDeps } from './deps.js';
import { describeFailure, EXIT_OK } from './errors.js';
import { adminSettings, declareAdminOptions } from './options.js';
import { VERSION } from '../package-info.js';

const EXAMPLES = `
Examples:
  chat-admin user add shon                      prompt twice for shon's password
  printf 'a-long-secret\\n' | chat-admin user add shon --password-stdin
  chat-admin user import users.txt              name:password lines, all or nothing
  chat-admin user list --json
  chat-admin user passwd shon
  chat-admin user disable shon                  and end shon's live session
  chat-admin sessions
  chat-admin instances                          the chat-server instances on this database
  chat-admin kick shon --reason "flooding"
  chat-admin --bus redis://bus:6379 kick shon   several instances: tell shon's at once
  chat-admin audit --user shon --since 2h --limit 20
  chat-admin throttles                          addresses and users locked after failed logins
  chat-admin throttles clear --user shon        let shon log in again at once
  chat-admin history --since 2h --user shon     what shon said in the last two hours
  chat-admin history purge --before 30d         delete stored messages older than 30 days
  chat-admin store copy --to postgres://chat@db/chat   move everything to an empty PostgreSQL database

Options before or after the verb mean the same (chat-admin --db F user list,
chat-admin user list --db F); given twice, the last one wins. Every option can
also come from its environment variable (CHAT_DB, CHAT_DB_POOL_SIZE,
CHAT_BUSY_TIMEOUT, CHAT_BCRYPT_COST, CHAT_BUS, CHAT_BUS_PREFIX,
CHAT_MIN_PASSWORD_LENGTH); a flag wins over the variable. --db is a SQLite
file or a postgres:// URL.
Durations: ${DURATION_RULE}.
CHAT_DEBUG=1 prints the stack of unexpected errors.

Exit status: 0 done, 1 could not be done, 2 bad command line.`;

/**
 * Builds the chat-admin program around injected streams and environment.
 * Commander never exits the process (`exitOverride`); its errors surface as
 * CommanderErrors for runAdmin to report.
 */
export function createAdminProgram(deps: AdminDeps): Command {
  const program = new Command('chat-admin')
    .description('Manage the users, sessions, instances, login throttles and audit log of a chat-server store (a SQLite file or a PostgreSQL database).')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    // The store options are the program's, listed in every verb's --help too.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
      // runAdmin prints the one error line, in the same format as every other error.
      outputError: () => undefined,
    })
    .addHelpText('after', EXAMPLES);
  declareAdminOptions(program);
  const settings = adminSettings(program, deps.env);
  registerUserCommands(program, deps, settings);
  registerSessionsCommand(program, deps, settings);
  registerKickCommand(program, deps, settings);
  registerInstancesCommand(program, deps, settings);
  registerAuditCommand(program, deps, settings);
  registerThrottlesCommand(program, deps, settings);
  registerHistoryCommand(program, deps, settings);
  registerStoreCommands(program, deps, settings);
  return program;
}

/** Runs one command line; never throws. Returns the exit code. */
export async function runAdmin(args: readonly string[], deps: AdminDeps): Promise<number> {
  try {
    await createAdminProgram(deps).parseAsync([...args], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    const report = describeFailure(error, deps.env['CHAT_DEBUG'] === '1');
    for (const line of report.lines) deps.stderr.write(`chat-admin: ${line}\n`);
    return report.exitCode;
  }
}
