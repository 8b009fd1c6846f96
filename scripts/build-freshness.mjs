// Whether dist/ is up to date with the sources: cheap enough (a stat per file) to run before every start.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SOURCE_DIRS = ['src', 'migrations', 'bench'];
const CONFIG_FILES = ['tsconfig.json', 'package.json'];

function tsFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The first reason to build the project at `root`, or undefined when every source has a newer compiled file. */
export function staleReason(root) {
  let oldestOutput = Infinity;
  for (const source of SOURCE_DIRS.flatMap((dir) => tsFiles(join(root, dir)))) {
    const built = join(root, 'dist', relative(root, source)).replace(/\.ts$/, '.js');
    if (!existsSync(built)) return `${relative(root, built)} is missing`;
    const builtAt = statSync(built).mtimeMs;
    if (builtAt < statSync(source).mtimeMs) return `${relative(root, source)} changed`;
    oldestOutput = Math.min(oldestOutput, builtAt);
  }
  // A full build rewrites every output, so settings newer than the oldest output mean a build is due.
  for (const config of CONFIG_FILES) {
    const path = join(root, config);
    if (existsSync(path) && statSync(path).mtimeMs > oldestOutput) return `${config} changed`;
  }
  return undefined;
}
