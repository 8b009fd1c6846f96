import { CommanderError } from 'commander';
import { AccountError } from '../accounts/errors.js';
import { ConfigError } from '../config/option-spec.js';
import { EXIT_USAGE, isRequestedOutput, oneLine, usageMessage } from '../config/usage.js';
import { StoreError } from '../store/errors.js';

export const EXIT_OK = 0;
/** The command was understood but could not be done (unknown user, locked database...). */
export const EXIT_FAILURE = 1;
/** The command line itself was wrong (unknown verb, bad flag value...): the same status in every program. */
export { EXIT_USAGE };

export const CLI_ERROR_CODES = [
  'NO_TERMINAL',
  'PASSWORD_MISMATCH',
  'ABORTED',
  'FILE_UNREADABLE',
  'IMPORT_INVALID_LINE',
  'IMPORT_EMPTY',
  'NO_LIVE_SESSION',
  'CONFLICTING_OPTIONS',
] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** A failure chat-admin itself detects; it carries the exit code it ends the process with. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options: { exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT_FAILURE;
  }
}

export interface FailureReport {
  exitCode: number;
  /** What to print on stderr, without the `chat-admin: ` prefix; empty when commander already printed everything. */
  lines: string[];
}

/**
 * Decides, from an error's class and code only, the exit code and the one
 * line the user sees. Unexpected errors get a hint instead of a stack, unless
 * `debug` asks for the stack.
 */
export function describeFailure(error: unknown, debug: boolean): FailureReport {
  if (error instanceof CommanderError) {
    if (isRequestedOutput(error)) return { exitCode: EXIT_OK, lines: [] };
    // 'commander.help' is a noun without its verb: the help is already on stderr.
    if (error.code === 'commander.help') return { exitCode: EXIT_USAGE, lines: [] };
    return { exitCode: EXIT_USAGE, lines: [usageMessage(error)] };
  }
  if (error instanceof ConfigError) return { exitCode: EXIT_USAGE, lines: [`invalid configuration: ${oneLine(error.message)}`] };
  if (error instanceof CliError) return { exitCode: error.exitCode, lines: [oneLine(error.message)] };
  if (error instanceof StoreError || error instanceof AccountError) {
    return { exitCode: EXIT_FAILURE, lines: [oneLine(error.message)] };
  }
  const message = error instanceof Error ? error.message : String(error);
  const lines = [`unexpected error: ${oneLine(message)} (set CHAT_DEBUG=1 to see the stack)`];
  if (debug && error instanceof Error && error.stack !== undefined) {
    return { exitCode: EXIT_FAILURE, lines: [`unexpected error: ${error.stack}`] };
  }
  return { exitCode: EXIT_FAILURE, lines };
}
