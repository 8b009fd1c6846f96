/**
 * A PasswordHasher running real bcrypt (bcryptjs, the worker pool's library)
 * on the test's own thread, for in-process servers and credential tests: the
 * pool's worker file exists only in the build. It counts compares and the
 * hash each one was against.
 */
import bcrypt from 'bcryptjs';
import type { PasswordHasher } from '../../src/accounts/hash-pool.js';

export class InlineHasher implements PasswordHasher {
  compares: string[] = [];
  readonly pending = 0;
  readonly saturated = false;

  compare(password: string, hash: string): Promise<boolean> {
    this.compares.push(hash);
    return bcrypt.compare(password, hash);
  }

  hash(password: string, cost: number): Promise<string> {
    return bcrypt.hash(password, cost);
  }

  async close(): Promise<void> {}
}
