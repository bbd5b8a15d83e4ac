/** Small text-formatting helpers for the human views (pure, no colours: output is often piped). */

/** Left-aligned columns separated by two spaces; the header row is kept even when there are no rows. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** 1234567 -> "1,234,567". */
export function count(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds as "0.4s", "12s", "3m05s", "2h14m". */
export function seconds(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return '-';
  if (value < 10) return `${Math.round(value * 10) / 10}s`;
  const s = Math.round(value);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Milliseconds, same style as seconds(). */
export function millis(value: number | undefined | null): string {
  return value === undefined || value === null ? '-' : seconds(value / 1000);
}

/** "42%" of done/total; "-" when the total is unknown. */
export function percent(done: number, total: number | undefined | null): string {
  if (!total || total <= 0) return '-';
  return `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

/** An ISO timestamp as "2026-11-21 09:22:17Z" (UTC, seconds). */
export function timestamp(value: string | number | Date | undefined | null): string {
  if (value === undefined || value === null || value === '') return '-';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** "key: value" lines with aligned values. */
export function fields(pairs: [string, string][]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(width + 1)} ${v}`).join('\n');
}

/** A section heading followed by an indented body. */
export function section(title: string, body: string): string {
  const indented = body
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
  return `${title}\n${indented}`;
}
