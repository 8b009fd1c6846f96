import { describe, expect, it } from 'vitest';
import { formatTime, renderTable } from '../../src/admin/render-table.js';

describe('renderTable', () => {
  it('renders a plain table without colours, nulls as -', () => {
    expect(renderTable(['user', 'last login'], [['shon', null], ['a', 'x']], 'none')).toBe(
      [
        '┌──────┬────────────┐',
        '│ user │ last login │',
        '├──────┼────────────┤',
        '│ shon │ -          │',
        '├──────┼────────────┤',
        '│ a    │ x          │',
        '└──────┴────────────┘',
        '',
      ].join('\n'),
    );
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
});
