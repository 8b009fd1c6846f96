import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/log.js';

const AT = new Date('2026-11-25T23:20:40.895Z');

function logged(write: (logger: ReturnType<typeof createLogger>) => void): string {
  const lines: string[] = [];
  write(createLogger((line) => lines.push(line), () => AT));
  return lines.join('');
}

describe('operator log', () => {
  it('shows a username with an escape sequence escaped, never as the name it imitates', () => {
    const out = logged((log) => log.failedLogin('al\x1b[31mice', '203.0.113.7'));
    expect(out).toBe('2026-11-25T23:20:40.895Z warn Failed login for al\\x1b[31mice from 203.0.113.7\n');
    expect(out).not.toContain('alice');
  });

  it('keeps every event on one line: CR, LF and NUL are shown', () => {
    const out = logged((log) => log.info('login', { user: 'ro\r\nn\x00' }));
    expect(out).toBe('2026-11-25T23:20:40.895Z info login user=ro\\x0d\\x0an\\x00\n');
  });

  it('quotes a value with spaces, quotes or =, and the quoting cannot be forged', () => {
    const out = logged((log) => log.info('refused', { detail: 'a "b" c=d', x: 'e\\' }));
    expect(out).toBe('2026-11-25T23:20:40.895Z info refused detail="a \\"b\\" c=d" x=e\\\\\n');
    expect(logged((log) => log.info('e', { v: '' }))).toBe('2026-11-25T23:20:40.895Z info e v=""\n');
  });

  it('a fail2ban filter finds the real address even when the name imitates a line', () => {
    const out = logged((log) => log.failedLogin('x from 198.51.100.1\n2026 warn Failed login for y', '203.0.113.7'));
    expect(out.split('\n')).toHaveLength(2);
    expect(out).toMatch(/^\S+ warn Failed login for .* from 203\.0\.113\.7\n$/);
  });
});
