// Tables for every benchmark: a Markdown table for the .md report and the
// same rows padded for a terminal, with numbers in a short human form.

/** One row: a value per column key. */
export type Row = Record<string, unknown>;

/** Human number: 1234567 -> '1.23M'. */
export function human(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  return a >= 10 ? n.toFixed(0) : n.toFixed(2);
}

function cell(v: unknown): string {
  return typeof v === 'number' ? human(v) : String(v);
}

/** A Markdown table of `rows` with the given `columns` (keys, in order); the first column left-aligned. */
export function markdownTable(columns: readonly string[], rows: readonly Row[]): string {
  const head = `| ${columns.join(' | ')} |`;
  const rule = `| ${columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map((c) => cell(r[c])).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

/** The same table padded for a terminal, with a rule under the header. */
export function textTable(columns: readonly string[], rows: readonly Row[]): string {
  const cells = [columns.map(String), ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row, k) => {
      const line = row.map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  ');
      return k === 0 ? line + '\n' + widths.map((w) => '-'.repeat(w)).join('  ') : line;
    })
    .join('\n');
}
