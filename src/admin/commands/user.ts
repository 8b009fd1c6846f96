import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { assertNewPassword, assertValidUsername, hashPassword } from '../../accounts/passwords.js';
import {
  addUser,
  assertAccountsAbsent,
  changePassword,
  importUsers,
  removeUser,
  setUserDisabled,
  type NewAccount,
} from '../../accounts/user-admin.js';
import { StoreError } from '../../store/errors.js';
import type { Database, UserRow } from '../../store/schema.js';
import { findUser, getUser, listUsers } from '../../store/users.js';
import { adminContext, writeJson } from '../context.js';
import type { AdminDeps } from '../deps.js';
import { CliError } from '../errors.js';
import { parseImportLines } from '../import-lines.js';
import { addJsonOption, storeSettings, type JsonOptions, type AdminConfig } from '../options.js';
import { readNewPassword } from '../prompt-password.js';
import { readAll } from '../read-input.js';
import { formatTime, renderTable } from '../render-table.js';
import { signalSessionEnd } from '../session-signal.js';
import { withStore } from '../store-access.js';

type PasswordOptions = { passwordStdin?: boolean };

const PASSWORD_STDIN_HELP = 'read the password from the first line of standard input instead of prompting';

export function registerUserCommands(program: Command, deps: AdminDeps, settings: () => AdminConfig): void {
  const user = program.command('user').description('add, import, remove, list, disable and enable users; change passwords');

  passwordVerb(user.command('add <name>'))
    .description('add a user; the password is prompted twice (or read with --password-stdin)')
    .action(async (name: string, options: PasswordOptions) => {
      const config = settings();
      const where = storeSettings(config);
      assertValidUsername(name);
      // Refuse a taken name before asking for a password nobody will use (the insert still decides races).
      if (existsSync(resolve(where.file))) await withStore(where, { create: false }, (store) => refuseExisting(store.db, name));
      const password = await readNewPassword(deps, options.passwordStdin === true, name);
      assertNewPassword(password, config.minPasswordLength);
      const passwordHash = await hashPassword(password, config.bcryptCost);
      const added = await withStore(where, { create: true, stderr: deps.stderr }, (store) =>
        addUser(store.db, { username: name, passwordHash }, adminContext(deps)),
      );
      deps.stdout.write(`added user ${added.username}\n`);
    });

  user.command('import [file]')
    .description('add many users from name:password lines, all or nothing (FILE, or standard input when absent or -)')
    .addHelpText(
      'after',
      '\nOne user per line as name:password; the password is everything after the first colon.\n' +
        'Blank lines and lines starting with # are skipped. If any line is bad, or a name already\n' +
        'exists, nothing is imported and the error names the line.\n\n' +
        'Example:\n  chat-admin user import users.txt\n  generate-users | chat-admin user import -',
    )
    .action(async (file: string | undefined) => {
      const config = settings();
      const where = storeSettings(config);
      const cost = config.bcryptCost;
      const lines = parseImportLines(await readImportText(file, deps), config.minPasswordLength);
      if (lines.length === 0) throw new CliError('IMPORT_EMPTY', 'nothing to import: no name:password lines');
      const imported = await withStore(where, { create: true, stderr: deps.stderr }, async (store) => {
        await assertAccountsAbsent(store.db, lines);
        const accounts: NewAccount[] = [];
        for (const line of lines) {
          accounts.push({ username: line.username, line: line.line, passwordHash: await hashPassword(line.password, cost) });
        }
        return importUsers(store.db, accounts, adminContext(deps));
      });
      deps.stdout.write(`imported ${imported.length} user${imported.length === 1 ? '' : 's'}\n`);
    });

  user.command('remove <name>')
    .description("remove a user; their live session, if any, is asked to end")
    .action(async (name: string, _options: unknown) => {
      const config = settings();
      const where = storeSettings(config);
      assertValidUsername(name);
      const result = await withStore(where, { create: false }, (store) => removeUser(store.db, name, adminContext(deps)));
      await signalSessionEnd(config, result.session, 'removed', null, deps.stderr);
      deps.stdout.write(`removed user ${result.username}${result.sessionAsked ? SESSION_ASKED : ''}\n`);
    });

  addJsonOption(user.command('list'))
    .description('list users: name, created, last login, disabled')
    .action(async (options: JsonOptions) => {
      const where = storeSettings(settings());
      const users = await withStore(where, { create: false }, (store) => listUsers(store.db));
      if (options.json === true) {
        writeJson(deps, users.map(userJson));
        return;
      }
      const rows = users.map((u) => [u.username, formatTime(u.created_at), formatTime(u.last_login_at, 'never'), u.disabled === 1 ? 'yes' : 'no']);
      deps.stdout.write(renderTable(['user', 'created', 'last login', 'disabled'], rows, 'no users'));
    });

  passwordVerb(user.command('passwd <name>'))
    .description("change a user's password; prompted twice (or read with --password-stdin)")
    .action(async (name: string, options: PasswordOptions) => {
      const config = settings();
      const where = storeSettings(config);
      assertValidUsername(name);
      const changed = await withStore(where, { create: false }, async (store) => {
        // Refuse an unknown user before asking for a password nobody will use.
        const existing = await getUser(store.db, name);
        const password = await readNewPassword(deps, options.passwordStdin === true, existing.username);
        assertNewPassword(password, config.minPasswordLength);
        const passwordHash = await hashPassword(password, config.bcryptCost);
        return changePassword(store.db, name, passwordHash, adminContext(deps));
      });
      deps.stdout.write(`changed the password of ${changed}\n`);
    });

  for (const disabled of [true, false]) {
    const verb = disabled ? 'disable' : 'enable';
    user.command(`${verb} <name>`)
      .description(disabled ? 'stop a user from logging in; their live session, if any, is asked to end' : 'let a disabled user log in again')
      .action(async (name: string, _options: unknown) => {
        const config = settings();
        const where = storeSettings(config);
        assertValidUsername(name);
        const result = await withStore(where, { create: false }, (store) => setUserDisabled(store.db, name, disabled, adminContext(deps)));
        await signalSessionEnd(config, result.session, 'disabled', null, deps.stderr);
        const done = result.changed ? `${verb}d user ${result.username}` : `user ${result.username} was already ${verb}d`;
        deps.stdout.write(`${done}${result.sessionAsked ? SESSION_ASKED : ''}\n`);
      });
  }
}

const SESSION_ASKED = '; their live session was asked to end';

function passwordVerb(command: Command): Command {
  return command.option('--password-stdin', PASSWORD_STDIN_HELP);
}

async function refuseExisting(db: Kysely<Database>, name: string): Promise<void> {
  const existing = await findUser(db, name);
  if (existing === undefined) return;
  const spelled = existing.username === name ? '' : ` (as ${existing.username})`;
  throw new StoreError('USER_EXISTS', `user ${name} already exists${spelled}; to change the password: chat-admin user passwd ${existing.username}`);
}

async function readImportText(file: string | undefined, deps: AdminDeps): Promise<string> {
  if (file === undefined || file === '-') return readAll(deps.stdin);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError('FILE_UNREADABLE', `cannot read ${file}: ${reason}`, { cause: error });
  }
}

function userJson(user: UserRow): Record<string, unknown> {
  return {
    username: user.username,
    createdAt: user.created_at,
    updatedAt: user.updated_at,
    lastLoginAt: user.last_login_at,
    disabled: user.disabled === 1,
  };
}
