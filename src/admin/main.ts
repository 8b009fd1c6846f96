#!/usr/bin/env node
import { userInfo } from 'node:os';
import { runAdmin } from './program.js';

// The only module that touches the process: everything else gets it injected.
process.exitCode = await runAdmin(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  actor: osUsername(),
  now: () => new Date(),
});

function osUsername(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    // userInfo throws when the uid has no passwd entry (some containers).
    return 'unknown';
  }
}
