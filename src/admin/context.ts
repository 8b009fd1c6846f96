import type { AdminContext } from '../accounts/user-admin.js';
import type { AdminDeps } from './deps.js';

export function adminContext(deps: AdminDeps): AdminContext {
  return { actor: deps.actor, now: deps.now };
}

/** `--json` output: one document on stdout. */
export function writeJson(deps: AdminDeps, value: unknown): void {
  deps.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
