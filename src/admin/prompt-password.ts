import { StringDecoder } from 'node:string_decoder';
import type { AdminInput, TextSink } from './deps.js';
import { CliError, EXIT_USAGE } from './errors.js';
import { readFirstLine } from './read-input.js';

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/**
 * Gets a new password: the first line of standard input with
 * `--password-stdin`, else typed twice on the terminal without echo. It is
 * never taken from argv, where other users could see it.
 */
export async function readNewPassword(
  io: { stdin: AdminInput; stderr: TextSink },
  fromStdin: boolean,
  username: string,
): Promise<string> {
  if (fromStdin) return readFirstLine(io.stdin);
  if (io.stdin.isTTY !== true || io.stdin.setRawMode === undefined) {
    throw new CliError('NO_TERMINAL', 'standard input is not a terminal to prompt for the password; pipe it with --password-stdin', {
      exitCode: EXIT_USAGE,
    });
  }
  const first = await promptHidden(io.stdin, io.stderr, `New password for ${username}: `);
  const second = await promptHidden(io.stdin, io.stderr, 'Repeat the password: ');
  if (first !== second) throw new CliError('PASSWORD_MISMATCH', 'the two passwords do not match; nothing was changed');
  return first;
}

/**
 * Reads one line from a terminal in raw mode, echoing nothing. The prompt
 * goes to stderr so that stdout stays clean for scripts.
 */
export async function promptHidden(input: AdminInput, output: TextSink, prompt: string): Promise<string> {
  output.write(prompt);
  const decoder = new StringDecoder('utf8');
  let typed = '';
  input.setRawMode?.(true);
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
    };
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const char of text) {
        if (ENTER.has(char) || (char === CTRL_D && typed === '')) {
          stop();
          resolve(typed);
          return;
        }
        if (char === CTRL_C) {
          stop();
          reject(new CliError('ABORTED', 'aborted; nothing was changed', { exitCode: 130 }));
          return;
        }
        if (BACKSPACE.has(char)) {
          typed = Array.from(typed).slice(0, -1).join('');
        } else if (char >= ' ') {
          typed += char;
        }
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
