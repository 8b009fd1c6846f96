// tsc does not keep file modes; npm's bin links and `npx` need the entry points executable.
import { chmodSync, existsSync, readFileSync } from 'node:fs';

const { bin } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const file of Object.values(bin)) {
  if (existsSync(file)) chmodSync(file, 0o755);
}
