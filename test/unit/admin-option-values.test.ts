import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAuditLimit, parseSince } from '../../src/admin/option-values.js';

describe('audit --since', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    [' 1d ', 86_400_000],
    ['1.5h', 5_400_000],
    ['10', 10_000],
    ['2H', 7_200_000],
  ])('%j → %d ms (the grammar every option shares)', (text, ms) => {
    expect(parseSince(text)).toBe(ms);
  });

  it.each(['', '0s', '0', '-5m', '2w', 'h', '1 h', '99999999999d'])('refuses %j', (text) => {
    expect(() => parseSince(text)).toThrow(InvalidArgumentError);
  });
});

describe('audit --limit', () => {
  it.each([
    ['1', 1],
    ['10000', 10_000],
  ])('accepts %j', (text, value) => {
    expect(parseAuditLimit(text)).toBe(value);
  });

  it.each(['0', '10001', '5.5', 'many', ''])('refuses %j', (text) => {
    expect(() => parseAuditLimit(text)).toThrow(InvalidArgumentError);
  });
});
