import type { Command } from 'commander';
import { DEFAULT_MIN_PASSWORD_LENGTH, MAX_PASSWORD_BYTES } from '../accounts/passwords.js';
import { declareOptions, readOptionValues } from '../config/commander-options.js';
import { buildConfig, type OptionSpec } from '../config/option-spec.js';
import { SHARED_OPTIONS, type SharedConfig } from '../config/shared-options.js';
import type { AdminDeps } from './deps.js';

/** chat-admin's settings: the options it shares with chat-server, and its own. */
export interface AdminConfig extends SharedConfig {
  /** Shortest password (in characters) add, passwd and import accept. */
  readonly minPasswordLength: number;
}

/**
 * Settings every verb may use. They are program options, so they are
 * accepted before and after the verb (`chat-admin --db F user add shon` and
 * `chat-admin user add shon --db F`); given twice, the last one wins.
 */
export const ADMIN_OPTIONS: readonly OptionSpec<keyof AdminConfig>[] = [
  ...SHARED_OPTIONS,
  {
    key: 'minPasswordLength',
    flag: 'min-password-length',
    env: 'CHAT_MIN_PASSWORD_LENGTH',
    kind: 'count',
    default: String(DEFAULT_MIN_PASSWORD_LENGTH),
    min: 1,
    max: MAX_PASSWORD_BYTES,
    help: 'shortest password, in characters, that user add, passwd and import accept',
  },
];

export interface JsonOptions {
  json?: boolean;
}

export interface StoreSettings {
  file: string;
  busyTimeoutMs: number;
  poolSize: number;
}

export function declareAdminOptions(program: Command): Command {
  return declareOptions(program, ADMIN_OPTIONS);
}

/**
 * The settings, read once from the program's options and the environment
 * (flag over variable over default) when a verb first asks; a bad value is a
 * ConfigError naming each.
 */
export function adminSettings(program: Command, env: AdminDeps['env']): () => AdminConfig {
  let config: AdminConfig | undefined;
  return () => (config ??= buildConfig<AdminConfig>(ADMIN_OPTIONS, readOptionValues(program, ADMIN_OPTIONS), env));
}

export function storeSettings(config: AdminConfig): StoreSettings {
  return { file: config.dbFile, busyTimeoutMs: config.busyTimeoutMs, poolSize: config.dbPoolSize };
}

export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print one JSON array instead of a table');
}
