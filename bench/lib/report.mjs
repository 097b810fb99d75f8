// Shared benchmark reporting: timing helpers, a Markdown/console table, a hand-written SVG bar chart, result files.
//
// Usage (no dependencies; see bench/wire.mjs for a whole example):
//   import { compareOpsPerSecond, textTable, markdownTable, barChartSvg, writeResults } from './lib/report.mjs';
//   const r = compareOpsPerSecond({ ours: (n) => { for (let i = 0; i < n; i++) work(); }, theirs: ... });
//   const rows = [{ impl: 'ours', 'ops/s': r.ours.opsPerSec }, ...];
//   console.log(textTable(['impl', 'ops/s'], rows));
//   writeResults('name', { data: { rows }, markdown: markdownTable(['impl', 'ops/s'], rows),
//     svg: barChartSvg({ title: 'ops/s', groups: [{ name: 'case', bars: [{ label: 'ours', value: 1 }] }] }) });
//   console.log(JSON.stringify(summary)); // last line: one JSON object, for CI
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results, next to this lib directory. */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** Median of a non-empty list of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Grows a batch size until one call of `fn(batch)` takes ~5 ms, running for at least `warmupMs` (JIT warm-up). */
function calibrate(fn, warmupMs) {
  let batch = 1;
  const warmEnd = performance.now() + warmupMs;
  for (;;) {
    const t0 = performance.now();
    fn(batch);
    const dt = performance.now() - t0;
    if (dt < 5) batch *= 2;
    if (performance.now() >= warmEnd && dt >= 5) return batch;
  }
}

/** One timed round of about `roundMs`: operations per second. */
function round(fn, batch, roundMs) {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < roundMs) {
    fn(batch);
    n += batch;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

/**
 * Operations per second of several contenders ({ name: fn }), each the median
 * over `rounds` rounds of about `roundMs`, after `warmupMs` of warm-up (so the
 * JIT has settled). `fn(n)` must run the operation n times; batching keeps
 * timer overhead out. Rounds are interleaved (A, B, A, B, ...) so that load
 * from other processes on a shared machine hits all of them alike and their
 * ratio stays meaningful.
 */
export function compareOpsPerSecond(fns, { rounds = 5, roundMs = 300, warmupMs = 300 } = {}) {
  const names = Object.keys(fns);
  const batches = Object.fromEntries(names.map((n) => [n, calibrate(fns[n], warmupMs)]));
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) samples[n].push(round(fns[n], batches[n], roundMs));
  }
  return Object.fromEntries(names.map((n) => [n, { opsPerSec: median(samples[n]), samples: samples[n] }]));
}

/** Human number: 1234567 -> '1.23M'. */
export function human(n) {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  return a >= 10 ? n.toFixed(0) : n.toFixed(2);
}

function cell(v) {
  return typeof v === 'number' ? human(v) : String(v);
}

/** A Markdown table of `rows` (objects) with the given `columns` (keys, in order). */
export function markdownTable(columns, rows) {
  const head = `| ${columns.join(' | ')} |`;
  const rule = `| ${columns.map((c, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map((c) => cell(r[c])).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

/** The same table padded for a terminal. */
export function textTable(columns, rows) {
  const cells = [columns, ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => String(row[i]).length)));
  return cells
    .map((row, k) => {
      const line = row.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join('  ');
      return k === 0 ? line + '\n' + widths.map((w) => '-'.repeat(w)).join('  ') : line;
    })
    .join('\n');
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const PALETTE = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#c53030', '#718096'];

/**
 * A grouped horizontal bar chart as SVG text. `groups` = [{ name, bars: [{ label, value }] }].
 * With `log: true` bar lengths are log10-scaled, so a 100x gap stays readable.
 */
export function barChartSvg({ title, unit = '', groups, log = false }) {
  const labelW = 150;
  const chartW = 480;
  const valueW = 90;
  const barH = 18;
  const gap = 6;
  const groupGap = 16;
  const top = 40;
  const all = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0);
  const max = Math.max(1, ...all);
  const min = log ? Math.min(...all) / 2 : 0;
  const scale = (v) => {
    if (v <= 0) return 0;
    if (!log) return (v / max) * chartW;
    return Math.max(2, ((Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * chartW);
  };
  const labels = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.label)))];
  const color = (label) => PALETTE[labels.indexOf(label) % PALETTE.length];
  const parts = [];
  let y = top;
  for (const g of groups) {
    parts.push(`<text x="8" y="${y + 12}" font-weight="bold">${esc(g.name)}</text>`);
    y += 18;
    for (const b of g.bars) {
      const w = scale(b.value);
      parts.push(`<text x="16" y="${y + barH - 5}">${esc(b.label)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color(b.label)}"/>`);
      parts.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH - 5}">${esc(human(b.value))}${esc(unit ? ' ' + unit : '')}</text>`);
      y += barH + gap;
    }
    y += groupGap;
  }
  const width = labelW + chartW + valueW + 40;
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="22" font-size="15" font-weight="bold">${esc(title)}${log ? ' (log scale)' : ''}</text>`,
    ...parts,
    `</svg>`,
  ].join('\n');
}

/**
 * Writes bench/results/<name>.json, .md and (if given) .svg; returns their paths.
 * `markdown` is the whole .md text; `data` is any JSON-serialisable object.
 */
export function writeResults(name, { data, markdown, svg }) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const paths = { json: join(RESULTS_DIR, `${name}.json`), md: join(RESULTS_DIR, `${name}.md`) };
  writeFileSync(paths.json, JSON.stringify(data, (k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  writeFileSync(paths.md, markdown.endsWith('\n') ? markdown : markdown + '\n');
  if (svg !== undefined) {
    paths.svg = join(RESULTS_DIR, `${name}.svg`);
    writeFileSync(paths.svg, svg + '\n');
  }
  return paths;
}
