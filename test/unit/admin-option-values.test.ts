import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAuditLimit, parseBcryptCost, parseBusyTimeout, parseDuration } from '../../src/admin/option-values.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    [' 1d ', 86_400_000],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', '0s', '-5m', '1.5h', '2w', 'h', '1 h', '99999999999d', '2H'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidArgumentError);
  });
});

describe('whole-number options', () => {
  it.each([
    [parseAuditLimit, '1', 1],
    [parseAuditLimit, '10000', 10_000],
    [parseBusyTimeout, '0', 0],
    [parseBusyTimeout, '200', 200],
    [parseBcryptCost, '4', 4],
    [parseBcryptCost, '15', 15],
  ])('%o accepts %j', (parse, text, value) => {
    expect(parse(text)).toBe(value);
  });

  it.each([
    [parseAuditLimit, '0'],
    [parseAuditLimit, '10001'],
    [parseAuditLimit, '5.5'],
    [parseAuditLimit, 'many'],
    [parseBusyTimeout, '-1'],
    [parseBusyTimeout, '1e3'],
    [parseBcryptCost, '3'],
    [parseBcryptCost, '16'],
    [parseBcryptCost, ''],
  ])('%o refuses %j', (parse, text) => {
    expect(() => parse(text)).toThrow(InvalidArgumentError);
  });
});
