import Table from 'cli-table3';

export type Cell = string | number | null;

/**
 * Renders rows as a plain table: no colours, so the output is the same on a
 * terminal, in a pipe and in tests. `empty` is printed instead of a table
 * with no rows.
 */
export function renderTable(head: readonly string[], rows: readonly (readonly Cell[])[], empty: string): string {
  if (rows.length === 0) return `${empty}\n`;
  const table = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map((cell) => cell ?? '-'));
  return `${table.toString()}\n`;
}

/** Stored ISO times shown in UTC to the second: `2026-11-25T10:00:00Z`. */
export function formatTime(iso: string | null, missing = '-'): string {
  if (iso === null) return missing;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19)}Z`;
}
