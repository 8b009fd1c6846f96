export type Cell = string | number | null;

const GAP = '  ';

/** Columns a string takes on a terminal (code points; the stored names and times are narrow). */
function width(text: string): number {
  return Array.from(text).length;
}

/**
 * Renders rows as a plain table, the way `ps` and `kubectl get` do: a header,
 * one rule under it, then one line per row, columns two spaces apart, no
 * colours (the same on a terminal, in a pipe and in tests). Nulls show as
 * `-`; `empty` is printed instead of a table with no rows.
 */
export function renderTable(head: readonly string[], rows: readonly (readonly Cell[])[], empty: string): string {
  if (rows.length === 0) return `${empty}\n`;
  const cells = rows.map((row) => head.map((_, i) => oneLine(row[i] ?? null)));
  const widths = head.map((title, i) => Math.max(width(title), ...cells.map((row) => width(row[i]!))));
  const line = (values: readonly string[]): string => values.map((value, i) => value + ' '.repeat(widths[i]! - width(value))).join(GAP).trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

function oneLine(cell: Cell): string {
  return cell === null ? '-' : String(cell).replace(/[\r\n\t]+/g, ' ');
}

/** Stored ISO times shown in UTC to the second: `2026-11-25T10:00:00Z`. */
export function formatTime(iso: string | null, missing = '-'): string {
  if (iso === null) return missing;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** UTC to the minute, for narrow tables: `2026-11-25 10:00`. */
export function formatShortTime(iso: string | null, missing = '-'): string {
  if (iso === null) return missing;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

/** Time elapsed, in its largest whole unit and the next: `45s`, `3m12s`, `2h5m`, `3d4h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 === 0 ? '' : `${s % 60}s`}`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) === 0 ? '' : `${Math.floor((s % 3600) / 60)}m`}`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600) === 0 ? '' : `${Math.floor((s % 86_400) / 3600)}h`}`;
}
