// The chart of a benchmark run (bench.svg), written by hand: one bar per figure
// showing how many times better ipnbus is than dbus-daemon (and, under it, than
// dbus-broker when it was measured), on a log scale.
import { fanoutTarget, type BenchResult } from '../results.js';
import { escapeXml as esc } from './escape.js';

/** factor: vs dbus-daemon; vsBroker: vs dbus-broker. Both "times better". */
interface Bar { label: string; factor: number | null; vsBroker: number | null; target?: number }

/** Every bar is "times better": throughput as is, latency and cost inverted. */
function bars(r: BenchResult): Bar[] {
  const inv = (v: number | null | undefined) => (v ? 1 / v : null);
  const out: Bar[] = [];
  for (const row of r.fanout) {
    const b: Bar = { label: `fan-out ${row.subscribers} ${row.payload}`, factor: row.ratio, vsBroker: row.vsBroker ?? null };
    if (row.subscribers === 16 && row.payload === 'small') b.target = fanoutTarget(r);
    out.push(b);
  }
  out.push({ label: 'latency p50', factor: inv(r.latency.p50Ratio), vsBroker: inv(r.latency.p50VsBroker), target: 1 / 0.35 });
  out.push({ label: 'latency p99', factor: inv(r.latency.p99Ratio), vsBroker: inv(r.latency.p99VsBroker) });
  for (const c of r.calls) {
    const b: Bar = { label: `call p50, ${c.inflight} in flight`, factor: inv(c.p50Ratio), vsBroker: inv(c.p50VsBroker) };
    if (c.inflight === 1) b.target = 1 / 0.4;
    out.push(b);
  }
  const row16 = r.fanout.find((row) => row.subscribers === 16 && row.payload === 'small');
  const cpu = (side: 'dbus-daemon' | 'dbus-broker') => row16?.sides[side]?.cpuUsPerDelivery;
  const ipnCpu = row16?.sides.ipnbus?.cpuUsPerDelivery;
  out.push({
    label: 'CPU per delivery',
    factor: inv(r.summary.cpu_per_delivery_ratio),
    vsBroker: ipnCpu !== undefined && cpu('dbus-broker') ? cpu('dbus-broker')! / ipnCpu : null,
  });
  return out;
}

const COLOURS = {
  daemon: { ahead: '#2f7d4f', behind: '#b5473a' },
  broker: { ahead: '#7bb3d6', behind: '#e3a35a' },
};

export function renderSvg(r: BenchResult): string {
  const data = bars(r);
  const withBroker = data.some((b) => b.vsBroker !== null);
  const rowH = withBroker ? 34 : 26;
  const left = 190;
  const width = 720;
  const plotW = width - left - 70;
  const top = 56;
  const height = top + data.length * rowH + (withBroker ? 66 : 50);
  // Log scale from 1/10x to 100x: ratios span orders of magnitude both ways.
  const lo = Math.log10(0.1);
  const hi = Math.log10(100);
  const xOf = (f: number) => left + ((Math.log10(Math.min(100, Math.max(0.1, f))) - lo) / (hi - lo)) * plotW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  // The three-side title is longer: the "ahead" note moves to the foot, by the legend.
  const title = withBroker
    ? 'ipnbus vs dbus-daemon and dbus-broker: times better (log scale)'
    : 'ipnbus vs dbus-daemon: times better (log scale; right of 1x = ipnbus ahead)';
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${title}</text>`);
  parts.push(`<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${esc(`${r.mode} run ${r.date.slice(0, 16)}Z, ${r.machine.cpus} CPUs, Linux ${r.machine.kernel}, transport ${r.transport}`)}</text>`);
  for (const tick of [0.1, 0.3, 1, 3, 10, 30, 100]) {
    const x = xOf(tick);
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${top + data.length * rowH}" stroke="${tick === 1 ? '#000' : '#ddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`);
    parts.push(`<text x="${x}" y="${top + data.length * rowH + 16}" text-anchor="middle" fill="#333">${tick}x</text>`);
  }
  /** One bar from 1x to `factor`, `h` high from `y`, labelled at its end. */
  const bar = (factor: number | null, y: number, h: number, colours: { ahead: string; behind: string }) => {
    if (factor === null || !Number.isFinite(factor)) {
      parts.push(`<text x="${xOf(1) + 6}" y="${y + h - 2}" fill="#999">not measured</text>`);
      return;
    }
    const x0 = xOf(1);
    const x1 = xOf(factor);
    const ahead = factor >= 1;
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${h}" fill="${ahead ? colours.ahead : colours.behind}"/>`);
    parts.push(`<text x="${ahead ? x1 + 5 : x1 - 5}" y="${y + h - 2}" text-anchor="${ahead ? 'start' : 'end'}">${factor.toFixed(2)}x</text>`);
  };
  data.forEach((b, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + (withBroker ? 21 : 17)}" text-anchor="end">${esc(b.label)}</text>`);
    if (withBroker) {
      bar(b.factor, y + 3, 13, COLOURS.daemon);
      bar(b.vsBroker, y + 18, 13, COLOURS.broker);
    } else {
      bar(b.factor, y + 5, rowH - 10, COLOURS.daemon);
    }
    if (b.target !== undefined) {
      const xt = xOf(b.target);
      parts.push(`<line x1="${xt}" y1="${y + 2}" x2="${xt}" y2="${y + rowH - 2}" stroke="#1d4ed8" stroke-width="2" stroke-dasharray="3,2"/>`);
    }
  });
  if (withBroker) {
    const y = height - 30;
    parts.push(`<rect x="${left}" y="${y - 10}" width="12" height="12" fill="${COLOURS.daemon.ahead}"/><text x="${left + 16}" y="${y}">upper bar: vs dbus-daemon (targets against it)</text>`);
    parts.push(`<rect x="${left + 340}" y="${y - 10}" width="12" height="12" fill="${COLOURS.broker.ahead}"/><text x="${left + 356}" y="${y}">lower bar: vs dbus-broker</text>`);
  }
  parts.push(`<text x="${left}" y="${height - 10}" fill="#1d4ed8">dashed: target${withBroker ? '<tspan fill="#333">; right of 1x = ipnbus ahead</tspan>' : ''}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
