// `npm start`: build only when dist/ is older than the sources, then run the server in this process.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { staleReason } from './build-freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const SERVER_MAIN = join(root, 'dist/src/server/main.js');

const reason = staleReason(root);
if (reason !== undefined) {
  process.stderr.write(`building (${reason})...\n`);
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// The server reads its options from process.argv, as when run directly.
process.argv = [process.argv[0], SERVER_MAIN, ...process.argv.slice(2)];
await import(pathToFileURL(SERVER_MAIN).href);
