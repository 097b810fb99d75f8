// Turns bench/kernel/fanout's JSON into the report: ratios, an SVG bar
// chart (written by hand, no dependencies) and the one-line JSON summary.
// Usage: node bench/kernel/report.mjs results.json chart.svg [accel]
import { readFileSync, writeFileSync } from 'node:fs';

const [jsonPath, svgPath, accel = 'unknown'] = process.argv.slice(2);
if (!jsonPath || !svgPath) {
  console.error('usage: report.mjs results.json chart.svg [accel]');
  process.exit(2);
}
const data = JSON.parse(readFileSync(jsonPath, 'utf8'));
const modes = ['ipn', 'unix', 'relay'];
const colours = { ipn: '#2b7bb9', unix: '#8fbc5a', relay: '#d9822b' };
const counts = [...new Set(data.results.map((r) => r.receivers))].sort((a, b) => a - b);
const find = (mode, n) => data.results.find((r) => r.mode === mode && r.receivers === n);
const ratio = (a, b) => (a && b ? Math.round((a.deliveries_per_s / b.deliveries_per_s) * 100) / 100 : null);

const summary = { bench: 'kernel', accel, kernel: data.kernel, msg_bytes: data.msg_bytes };
for (const n of counts) {
  summary[`ipn_vs_relay_${n}`] = ratio(find('ipn', n), find('relay', n));
  summary[`ipn_vs_unix_${n}`] = ratio(find('ipn', n), find('unix', n));
  for (const m of modes) {
    const r = find(m, n);
    if (r) {
      summary[`${m}_${n}_deliveries_per_s`] = r.deliveries_per_s;
      summary[`${m}_${n}_p50_us`] = r.p50_us;
      summary[`${m}_${n}_p99_us`] = r.p99_us;
    }
  }
}
data.accel = accel;
data.summary = summary;
writeFileSync(jsonPath, JSON.stringify(data, null, 2) + '\n');

// Grouped bars: one group per receiver count, one bar per mode.
const W = 760, H = 360, left = 80, bottom = 50, top = 50, right = 20;
const plotW = W - left - right, plotH = H - top - bottom;
const max = Math.max(...data.results.map((r) => r.deliveries_per_s));
const groupW = plotW / counts.length, barW = (groupW * 0.7) / modes.length;
const y = (v) => top + plotH - (v / max) * plotH;
const fmt = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${Math.round(v / 1e3)}k` : `${Math.round(v)}`);
const out = [];
out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">Broadcast of ${data.msg_bytes}-byte messages: deliveries/s (kernel ${data.kernel}, ${accel})</text>`);
for (let i = 0; i <= 4; i++) {
  const v = (max * i) / 4;
  out.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
  out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
}
counts.forEach((n, g) => {
  const gx = left + g * groupW + groupW * 0.15;
  modes.forEach((m, k) => {
    const r = find(m, n);
    if (!r) return;
    const x = gx + k * barW;
    out.push(`<rect x="${x.toFixed(1)}" y="${y(r.deliveries_per_s).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y(r.deliveries_per_s)).toFixed(1)}" fill="${colours[m]}"><title>${m}, ${n} receivers: ${Math.round(r.deliveries_per_s)}/s, p50 ${r.p50_us} us, p99 ${r.p99_us} us</title></rect>`);
    out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(r.deliveries_per_s) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(r.deliveries_per_s)}</text>`);
  });
  out.push(`<text x="${left + g * groupW + groupW / 2}" y="${H - bottom + 18}" text-anchor="middle">${n} receiver${n > 1 ? 's' : ''}</text>`);
});
modes.forEach((m, k) => {
  const x = left + 10 + k * 170;
  const label = { ipn: 'AF_IPN broadcast', unix: 'SEQPACKET send per receiver', relay: 'relay process (broker)' }[m];
  out.push(`<rect x="${x}" y="${H - 22}" width="12" height="12" fill="${colours[m]}"/>`);
  out.push(`<text x="${x + 16}" y="${H - 12}">${label}</text>`);
});
out.push('</svg>');
writeFileSync(svgPath, out.join('\n') + '\n');

console.log('');
console.log('receivers  ipn/relay  ipn/unix   (deliveries/s ratios)');
for (const n of counts) {
  console.log(`${String(n).padStart(9)}  ${String(summary[`ipn_vs_relay_${n}`]).padStart(9)}  ${String(summary[`ipn_vs_unix_${n}`]).padStart(8)}`);
}
console.log(`wrote ${jsonPath} and ${svgPath}`);
console.log(JSON.stringify(summary));
