import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_BCRYPT_COST } from '../accounts/passwords.js';
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_DB_FILE } from '../store/open-store.js';
import type { AdminDeps } from './deps.js';
import { CliError, EXIT_USAGE } from './errors.js';
import { parseBcryptCost, parseBusyTimeout } from './option-values.js';

export interface StoreOptions {
  db?: string;
  busyTimeout?: number;
}

export interface CostOptions {
  bcryptCost?: number;
}

export interface JsonOptions {
  json?: boolean;
}

export interface StoreSettings {
  file: string;
  busyTimeoutMs: number;
}

/** The options every verb takes, added the same way to each. */
export function addStoreOptions(command: Command): Command {
  return command
    .addOption(new Option('--db <path>', 'database file (default: $CHAT_DB, else ./chat.db)'))
    .addOption(
      new Option('--busy-timeout <ms>', `how long to wait for another process's write lock (default: $CHAT_BUSY_TIMEOUT, else ${DEFAULT_BUSY_TIMEOUT_MS})`).argParser(
        parseBusyTimeout,
      ),
    );
}

export function addCostOption(command: Command): Command {
  return command.addOption(
    new Option('--bcrypt-cost <n>', `bcrypt cost, 4 to 15 (default: $CHAT_BCRYPT_COST, else ${DEFAULT_BCRYPT_COST})`).argParser(parseBcryptCost),
  );
}

export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print one JSON array instead of a table');
}

/** Flag, else environment variable, else default. */
export function storeSettings(options: StoreOptions, env: AdminDeps['env']): StoreSettings {
  return {
    file: options.db ?? nonEmpty(env['CHAT_DB']) ?? DEFAULT_DB_FILE,
    busyTimeoutMs: options.busyTimeout ?? fromEnv(env, 'CHAT_BUSY_TIMEOUT', parseBusyTimeout) ?? DEFAULT_BUSY_TIMEOUT_MS,
  };
}

export function bcryptCost(options: CostOptions, env: AdminDeps['env']): number {
  return options.bcryptCost ?? fromEnv(env, 'CHAT_BCRYPT_COST', parseBcryptCost) ?? DEFAULT_BCRYPT_COST;
}

function fromEnv(env: AdminDeps['env'], name: string, parse: (text: string) => number): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  try {
    return parse(raw);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    throw new CliError('INVALID_ENV', `environment variable ${name}=${JSON.stringify(raw)} is invalid: ${error.message}`, {
      exitCode: EXIT_USAGE,
    });
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
