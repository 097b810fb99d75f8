// The chart of a benchmark run (bench.svg), written by hand: one bar per figure
// showing how many times better ipnbus is than dbus-daemon, on a log scale.
import type { BenchResult } from './results.js';

interface Bar { label: string; factor: number | null; target?: number }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Every bar is "times better": throughput as is, latency and cost inverted. */
function bars(r: BenchResult): Bar[] {
  const inv = (v: number | null) => (v ? 1 / v : null);
  const out: Bar[] = [];
  for (const row of r.fanout) {
    const b: Bar = { label: `fan-out ${row.subscribers} ${row.payload}`, factor: row.ratio };
    if (row.subscribers === 16 && row.payload === 'small') b.target = 5;
    out.push(b);
  }
  out.push({ label: 'latency p50', factor: inv(r.latency.p50Ratio), target: 1 / 0.35 });
  out.push({ label: 'latency p99', factor: inv(r.latency.p99Ratio) });
  for (const c of r.calls) {
    const b: Bar = { label: `call p50, ${c.inflight} in flight`, factor: inv(c.p50Ratio) };
    if (c.inflight === 1) b.target = 1 / 0.4;
    out.push(b);
  }
  out.push({ label: 'CPU per delivery', factor: inv(r.summary.cpu_per_delivery_ratio) });
  return out;
}

export function renderSvg(r: BenchResult): string {
  const data = bars(r);
  const rowH = 26;
  const left = 190;
  const width = 720;
  const plotW = width - left - 70;
  const top = 56;
  const height = top + data.length * rowH + 50;
  // Log scale from 1/10x to 100x: ratios span orders of magnitude both ways.
  const lo = Math.log10(0.1);
  const hi = Math.log10(100);
  const xOf = (f: number) => left + ((Math.log10(Math.min(100, Math.max(0.1, f))) - lo) / (hi - lo)) * plotW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">ipnbus vs dbus-daemon: times better (log scale; right of 1x = ipnbus ahead)</text>`);
  parts.push(`<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${esc(`${r.mode} run ${r.date.slice(0, 16)}Z, ${r.machine.cpus} CPUs, Linux ${r.machine.kernel}, transport ${r.transport}`)}</text>`);
  for (const tick of [0.1, 0.3, 1, 3, 10, 30, 100]) {
    const x = xOf(tick);
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${top + data.length * rowH}" stroke="${tick === 1 ? '#000' : '#ddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`);
    parts.push(`<text x="${x}" y="${top + data.length * rowH + 16}" text-anchor="middle" fill="#333">${tick}x</text>`);
  }
  data.forEach((b, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(b.label)}</text>`);
    if (b.factor === null || !Number.isFinite(b.factor)) {
      parts.push(`<text x="${xOf(1) + 6}" y="${y + 17}" fill="#999">not measured</text>`);
      return;
    }
    const x0 = xOf(1);
    const x1 = xOf(b.factor);
    const ahead = b.factor >= 1;
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 5}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 10}" fill="${ahead ? '#2f7d4f' : '#b5473a'}"/>`);
    parts.push(`<text x="${ahead ? x1 + 5 : x1 - 5}" y="${y + 17}" text-anchor="${ahead ? 'start' : 'end'}">${b.factor.toFixed(2)}x</text>`);
    if (b.target !== undefined) {
      const xt = xOf(b.target);
      parts.push(`<line x1="${xt}" y1="${y + 2}" x2="${xt}" y2="${y + rowH - 2}" stroke="#1d4ed8" stroke-width="2" stroke-dasharray="3,2"/>`);
    }
  });
  parts.push(`<text x="${left}" y="${height - 10}" fill="#1d4ed8">dashed: target</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
