import { readFileSync } from 'node:fs';

/** This package's version, read once from package.json (two levels above dist/src). */
function readVersion(): string {
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'chat-server' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Try the next candidate: the layout differs between dist/ and source.
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
