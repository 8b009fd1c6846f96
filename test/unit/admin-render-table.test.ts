import { describe, expect, it } from 'vitest';
import { formatAge, formatShortTime, formatTime, renderTable } from '../../src/admin/render-table.js';

describe('renderTable', () => {
  it('renders a header, one rule, then one line per row; nulls as -', () => {
    expect(renderTable(['user', 'last login'], [['shon', null], ['a', 'x']], 'none')).toBe(
      ['user  last login', '----  ----------', 'shon  -', 'a     x', ''].join('\n'),
    );
  });

  it('keeps each row on one line', () => {
    expect(renderTable(['detail'], [['two\nlines']], 'none')).toBe('detail\n---------\ntwo lines\n');
  });

  it('prints the empty message instead of an empty table', () => {
    expect(renderTable(['user'], [], 'no users')).toBe('no users\n');
  });
});

describe('formatTime', () => {
  it('shows UTC to the second', () => {
    expect(formatTime('2026-11-25T10:00:00.999Z')).toBe('2026-11-25T10:00:00Z');
    expect(formatTime('2026-11-25T12:00:00.000+02:00')).toBe('2026-11-25T10:00:00Z');
  });

  it('shows the placeholder for null and an unparseable value as stored', () => {
    expect(formatTime(null)).toBe('-');
    expect(formatTime(null, 'never')).toBe('never');
    expect(formatTime('yesterday')).toBe('yesterday');
  });

  it('has a short form to the minute, and ages in two units', () => {
    expect(formatShortTime('2026-11-25T10:00:59.999Z')).toBe('2026-11-25 10:00');
    expect([0, 45_000, 192_000, 3_600_000, 7_500_000, 277_200_000].map(formatAge)).toEqual(['0s', '45s', '3m12s', '1h', '2h5m', '3d5h']);
  });
});
