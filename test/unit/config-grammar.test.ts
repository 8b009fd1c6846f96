import { describe, expect, it } from 'vitest';
import { ADMIN_OPTIONS } from '../../src/admin/options.js';
import { SHARED_OPTIONS } from '../../src/config/shared-options.js';
import { formatDuration, formatSize, isProblem, parseDuration, parseSize } from '../../src/config/value-grammar.js';
import { SERVER_OPTIONS } from '../../src/server/config.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['30', 30_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['2H', 7_200_000],
    [' 1d ', 86_400_000],
    ['0', 0],
    ['0.0001s', 1],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '-5m', '2w', '1 h', 'h', '1e3', '5 s'])('refuses %j, saying the units and what a bare number means', (text) => {
    const parsed = parseDuration(text);
    expect(isProblem(parsed) && parsed.problem).toMatch(/ms, s, m, h or d.*a bare number means seconds/);
  });

  it.each([
    [0, '0'],
    [500, '500ms'],
    [1500, '1500ms'],
    [60_000, '1m'],
    [336 * 3_600_000, '14d'],
  ])('%d ms is written %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('sizes', () => {
  it.each([
    ['4096', 4096],
    ['64KiB', 65_536],
    ['1mib', 1 << 20],
    ['2k', 2048],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', '1.5KiB', '1GiB', '-1'])('refuses %j, saying a bare number means bytes', (text) => {
    const parsed = parseSize(text);
    expect(isProblem(parsed) && parsed.problem).toMatch(/KiB or MiB.*a bare number means bytes/);
  });

  it('writes sizes in their largest unit', () => {
    expect([formatSize(1 << 20), formatSize(1024), formatSize(100)]).toEqual(['1MiB', '1KiB', '100 bytes']);
  });
});

describe('the shared options', () => {
  it('are declared once: the same specs in the chat-server and chat-admin tables', () => {
    for (const spec of SHARED_OPTIONS) {
      expect(SERVER_OPTIONS).toContain(spec);
      expect(ADMIN_OPTIONS).toContain(spec);
    }
  });
});
