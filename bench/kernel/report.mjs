// Turns bench/kernel/fanout's JSON into the report through the benchmarks'
// one result writer: ratios, a table, a bar chart and the one-line JSON
// summary. Rewrites DIR/NAME.json (with the summary) and writes NAME.md and
// NAME.svg beside it.
// Usage: node bench/kernel/report.mjs DIR/NAME.json [accel]
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { barChartSvg, markdownTable, textTable, writeResults } from '@ipnbus/bench/report';

const [jsonPath, accel = 'unknown'] = process.argv.slice(2);
if (!jsonPath || !jsonPath.endsWith('.json')) {
  console.error('usage: report.mjs DIR/NAME.json [accel]');
  process.exit(2);
}
const data = JSON.parse(readFileSync(jsonPath, 'utf8'));
const modes = ['ipn', 'unix', 'relay'];
const labels = { ipn: 'AF_IPN broadcast', unix: 'SEQPACKET send per receiver', relay: 'relay process (broker)' };
const counts = [...new Set(data.results.map((r) => r.receivers))].sort((a, b) => a - b);
const find = (mode, n) => data.results.find((r) => r.mode === mode && r.receivers === n);
const ratio = (a, b) => (a && b ? Math.round((a.deliveries_per_s / b.deliveries_per_s) * 100) / 100 : null);

const summary = {
  bench: 'kernel',
  accel,
  kernel: data.kernel,
  msg_bytes: data.msg_bytes,
  repeat: data.repeat,
  load_start: process.env.IPNBUS_LOAD_START ?? null,
  load_end: process.env.IPNBUS_LOAD_END ?? null,
};
const rows = [];
for (const n of counts) {
  summary[`ipn_vs_relay_${n}`] = ratio(find('ipn', n), find('relay', n));
  summary[`ipn_vs_unix_${n}`] = ratio(find('ipn', n), find('unix', n));
  for (const m of modes) {
    const r = find(m, n);
    if (!r) continue;
    summary[`${m}_${n}_deliveries_per_s`] = r.deliveries_per_s;
    summary[`${m}_${n}_p50_us`] = r.p50_us;
    summary[`${m}_${n}_p99_us`] = r.p99_us;
    summary[`${m}_${n}_csw_per_delivery`] = r.csw_per_delivery;
    summary[`${m}_${n}_syscalls_per_delivery`] = r.syscalls_per_delivery;
    rows.push({
      receivers: n,
      mode: labels[m],
      'deliveries/s': r.deliveries_per_s,
      'ctx switches/delivery': r.csw_per_delivery,
      'syscalls/delivery': r.syscalls_per_delivery,
      'p50 us': r.p50_us,
      'p99 us': r.p99_us,
    });
  }
}
data.accel = accel;
data.summary = summary;

const columns = ['receivers', 'mode', 'deliveries/s', 'ctx switches/delivery', 'syscalls/delivery', 'p50 us', 'p99 us'];
const title = `Broadcast of ${data.msg_bytes}-byte messages: deliveries/s (kernel ${data.kernel}, ${accel})`;
const svg = barChartSvg({
  title,
  groups: counts.map((n) => ({
    name: `${n} receiver${n > 1 ? 's' : ''}`,
    bars: modes.filter((m) => find(m, n)).map((m) => ({ label: labels[m], value: find(m, n).deliveries_per_s })),
  })),
});
const paths = writeResults(dirname(jsonPath), basename(jsonPath, '.json'), {
  data,
  markdown: `# ${title}\n\n${markdownTable(columns, rows)}\n\n\`\`\`json\n${JSON.stringify(summary)}\n\`\`\`\n`,
  svg,
});

console.log('');
console.log(textTable(columns, rows));
console.log('');
console.log('receivers  ipn/relay  ipn/unix   (deliveries/s ratios)');
for (const n of counts) {
  console.log(`${String(n).padStart(9)}  ${String(summary[`ipn_vs_relay_${n}`]).padStart(9)}  ${String(summary[`ipn_vs_unix_${n}`]).padStart(8)}`);
}
console.log(`wrote ${paths.json}, ${paths.md} and ${paths.svg}`);
console.log(JSON.stringify(summary));
