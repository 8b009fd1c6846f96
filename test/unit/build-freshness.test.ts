import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs build script, without types
import { staleReason } from '../../scripts/build-freshness.mjs';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await makeTempDir('chat-fresh-');
});
afterEach(async () => {
  await dir.remove();
});

function file(path: string, secondsAgo: number): void {
  const full = join(dir.path, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, '');
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(full, at, at);
}

describe('npm start builds only when dist/ is older than the sources', () => {
  it('up to date: every source has a newer compiled file', () => {
    file('tsconfig.json', 100);
    file('package.json', 100);
    file('src/a.ts', 50);
    file('dist/src/a.js', 10);
    expect((staleReason as (root: string) => string | undefined)(dir.path)).toBeUndefined();
  });

  it.each([
    ['a source changed after the build', () => file('src/a.ts', 5), 'src/a.ts changed'],
    ['a source was never built', () => file('src/b.ts', 50), 'dist/src/b.js is missing'],
    ['the compiler settings changed', () => file('tsconfig.json', 5), 'tsconfig.json changed'],
  ])('%s', (_case, change, reason) => {
    file('tsconfig.json', 100);
    file('package.json', 100);
    file('src/a.ts', 50);
    file('dist/src/a.js', 10);
    change();
    expect((staleReason as (root: string) => string | undefined)(dir.path)).toBe(reason);
  });
});
