import type { CommanderError } from 'commander';

/** Exit status of every usage error of all three programs. */
export const EXIT_USAGE = 2;

/** Commander "errors" that are really a requested output (`--help`, `--version`). */
export function isRequestedOutput(error: CommanderError): boolean {
  return error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
}

/**
 * Commander's message as one line, the way all three programs print usage
 * errors after their name: `unknown option '--prot' (did you mean --port?)`.
 */
export function usageMessage(error: CommanderError): string {
  return oneLine(error.message.replace(/^error: /, '')).replace(/\(Did you mean/g, '(did you mean');
}

/** Joins the non-empty lines of a message with spaces. */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ');
}

/**
 * For a program that takes no arguments: `unexpected argument '12346'`, with
 * the option it probably meant when the argument looks like a port.
 */
export function unexpectedArgument(operand: string, portFlag = '--port'): string {
  const port = /^\d{1,5}$/.test(operand) && Number(operand) <= 65535 ? ` (did you mean ${portFlag} ${operand}?)` : '';
  return `unexpected argument '${operand}'${port}`;
}
