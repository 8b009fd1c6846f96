import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputCollector, ROOT, spawnNode, waitForExit } from '../helpers/chat-server-process.js';
import { assertFreshBuild } from '../helpers/run-cli.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

let dir: TempDir | undefined;
afterEach(async () => {
  await dir?.remove();
});

describe('npm start', () => {
  it('starts the server at once, without building, when dist/ is up to date', async () => {
    assertFreshBuild(['src', 'migrations', 'bench']);
    dir = await makeTempDir();
    // What `npm start -- ARGS` runs.
    const child = spawnNode(join(ROOT, 'scripts/start.mjs'), ['--host', '127.0.0.1', '--port', '0', '--db', dir.file('chat.db')]);
    const stdout = new OutputCollector(child.stdout!);
    const stderr = new OutputCollector(child.stderr!);
    try {
      await stdout.waitFor(/chat-server \S+ listening on 127\.0\.0\.1:\d+/, 10_000);
      expect(stderr.text).not.toContain('building');
    } finally {
      child.kill('SIGTERM');
      expect(await waitForExit(child, 5000)).toBe(0);
    }
  });
});

describe('README', () => {
  it('says how to put the commands on the PATH, and uses their plain names after that', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('npm link');
    expect(readme).toContain('npm install -g .');
    const commands = readme.split('\n').filter((line) => /^(chat-admin|chat-client|chat-server) /.test(line));
    expect(commands.length).toBeGreaterThan(5);
    // `npx chat-...` only in the sentence that warns about it.
    expect(readme.match(/npx chat-/g)).toHaveLength(1);
  });
});
