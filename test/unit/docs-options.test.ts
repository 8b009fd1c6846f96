import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_OPTIONS } from '../../src/server/config.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the documentation keeps up with the server options', () => {
  const serverDoc = read('docs/server.md');
  it.each(SERVER_OPTIONS.map((spec) => [spec.flag, spec.env] as const))('docs/server.md documents --%s and %s', (flag, env) => {
    expect(serverDoc).toMatch(new RegExp(`\`--${flag}[\` ]`));
    expect(serverDoc).toContain(env);
  });

  const readme = read('README.md');
  const limits = SERVER_OPTIONS.filter((spec) => spec.zeroDisables === true || /^(max|throttle|rate|login)/.test(spec.flag));
  it.each(limits.map((spec) => [spec.flag] as const))('README lists the limit --%s', (flag) => {
    expect(readme).toContain(`--${flag}\``);
  });
});
