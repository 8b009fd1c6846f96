#!/usr/bin/env node
import { VERSION } from '../package-info.js';
import { runClient, type ClientIo } from './app.js';
import { EXIT_SESSION, EXIT_USAGE, parseClientOptions, UsageError } from './options.js';

/** If leaving politely takes longer than this after a signal, exit anyway. */
const FORCE_EXIT_MS = 3000;
const EXIT_INTERRUPTED = 130;

function restoreTerminal(): void {
  if (process.stdin.isTTY === true) process.stdin.setRawMode(false);
}

function exit(code: number): void {
  restoreTerminal();
  process.stdout.write('', () => process.exit(code));
}

async function main(): Promise<number> {
  const version = VERSION;
  const output = { writeOut: (text: string) => void process.stdout.write(text), writeErr: (text: string) => void process.stderr.write(text) };
  let outcome;
  try {
    outcome = parseClientOptions(process.argv.slice(2), version, output, {
      env: process.env,
      stdinIsTTY: process.stdin.isTTY === true,
      stdoutIsTTY: process.stdout.isTTY === true,
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chat-client: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (outcome.kind === 'exit') return outcome.code;

  let leave: (() => void) | undefined;
  const onSignal = (): void => {
    if (leave === undefined) {
      exit(EXIT_INTERRUPTED);
      return;
    }
    leave();
    setTimeout(() => exit(EXIT_SESSION), FORCE_EXIT_MS).unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  // A closed stdout (`chat-client | head`) is a reason to leave, not to crash.
  process.stdout.on('error', () => leave?.());

  const io: ClientIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    now: () => new Date(),
    onLeaveRequest: (fn) => (leave = fn),
  };
  return runClient(outcome.options, io, version);
}

main().then(exit, (error: unknown) => {
  process.stderr.write(`chat-client: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
  exit(EXIT_SESSION);
});
