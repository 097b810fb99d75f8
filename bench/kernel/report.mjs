// Turns bench/kernel/fanout's JSON into the report through the benchmarks'
// one result writer: ratios, a table, a bar chart and the one-line JSON
// summary. Rewrites DIR/NAME.json (with the summary) and writes NAME.md and
// NAME.svg beside it. With the insn-count plugin's output (INSNS: "window SEQ
// insns N" lines, bench/kernel/insn-count.c), every case also gets guest
// instructions per delivery: the median over its runs of the burst window's
// count divided by the burst's deliveries.
// Usage: node bench/kernel/report.mjs DIR/NAME.json [accel [INSNS]]
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { barChartsSvg, markdownTable, textTable, writeResults } from '@ipnbus/bench/report';

const [jsonPath, accel = 'unknown', insnPath] = process.argv.slice(2);
if (!jsonPath || !jsonPath.endsWith('.json')) {
  console.error('usage: report.mjs DIR/NAME.json [accel [INSNS]]');
  process.exit(2);
}
const fail = (why) => {
  console.error(`bench:kernel: ${why}`);
  process.exit(1);
};
const data = JSON.parse(readFileSync(jsonPath, 'utf8'));

/** The plugin's window counts by sequence number; any error line fails the report. */
function readWindows(path) {
  const windows = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.startsWith('error:')) fail(`insn-count plugin: ${line}`);
    const m = /^window (\d+) insns (\d+)$/.exec(line);
    if (m) windows.set(Number(m[1]), Number(m[2]));
  }
  return windows;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const windows = insnPath ? readWindows(insnPath) : null;
if (windows) {
  for (const r of data.results) {
    const per = r.insn_windows.map((w) => {
      if (!windows.has(w)) fail(`insn-count plugin reported no window ${w} (${r.mode}, ${r.receivers} receivers): ${windows.size} windows in ${insnPath}`);
      return windows.get(w) / r.deliveries;
    });
    r.insns_per_delivery_runs = per.map(Math.round);
    r.insns_per_delivery = Math.round(median(per));
  }
}
const modes = ['ipn', 'unix', 'relay'];
const labels = { ipn: 'AF_IPN broadcast', unix: 'SEQPACKET send per receiver', relay: 'relay process (broker)' };
const counts = [...new Set(data.results.map((r) => r.receivers))].sort((a, b) => a - b);
const find = (mode, n) => data.results.find((r) => r.mode === mode && r.receivers === n);
const ratio = (a, b) => (a && b ? Math.round((a.deliveries_per_s / b.deliveries_per_s) * 100) / 100 : null);
// instructions: the other side's count over AF_IPN's, so > 1 means AF_IPN is cheaper
const insnRatio = (ipn, other) =>
  ipn?.insns_per_delivery && other?.insns_per_delivery ? Math.round((other.insns_per_delivery / ipn.insns_per_delivery) * 100) / 100 : null;

const summary = {
  bench: 'kernel',
  accel,
  kernel: data.kernel,
  msg_bytes: data.msg_bytes,
  repeat: data.repeat,
  load_start: process.env.IPNBUS_LOAD_START ?? null,
  load_end: process.env.IPNBUS_LOAD_END ?? null,
  // scripts/vm/run.sh's slab debugging (slub_debug=FZP) in the guest
  slab_debug: process.env.IPNBUS_VM_MEMDEBUG === undefined ? null : process.env.IPNBUS_VM_MEMDEBUG !== '0',
  insns: windows
    ? 'guest instructions per delivery (qemu TCG plugin bench/kernel/insn-count.c: user + kernel, every vCPU, over the burst; median of the runs)'
    : null,
};
const rows = [];
for (const n of counts) {
  summary[`ipn_vs_relay_${n}`] = ratio(find('ipn', n), find('relay', n));
  summary[`ipn_vs_unix_${n}`] = ratio(find('ipn', n), find('unix', n));
  if (windows) {
    summary[`ipn_vs_relay_${n}_insns`] = insnRatio(find('ipn', n), find('relay', n));
    summary[`ipn_vs_unix_${n}_insns`] = insnRatio(find('ipn', n), find('unix', n));
  }
  for (const m of modes) {
    const r = find(m, n);
    if (!r) continue;
    summary[`${m}_${n}_deliveries_per_s`] = r.deliveries_per_s;
    summary[`${m}_${n}_p50_us`] = r.p50_us;
    summary[`${m}_${n}_p99_us`] = r.p99_us;
    summary[`${m}_${n}_csw_per_delivery`] = r.csw_per_delivery;
    summary[`${m}_${n}_syscalls_per_delivery`] = r.syscalls_per_delivery;
    if (windows) summary[`${m}_${n}_insns_per_delivery`] = r.insns_per_delivery;
    rows.push({
      receivers: n,
      mode: labels[m],
      'deliveries/s': r.deliveries_per_s,
      ...(windows ? { 'insns/delivery': r.insns_per_delivery } : {}),
      'ctx switches/delivery': r.csw_per_delivery,
      'syscalls/delivery': r.syscalls_per_delivery,
      'p50 us': r.p50_us,
      'p99 us': r.p99_us,
    });
  }
}
data.accel = accel;
data.summary = summary;

const columns = ['receivers', 'mode', 'deliveries/s', ...(windows ? ['insns/delivery'] : []), 'ctx switches/delivery', 'syscalls/delivery', 'p50 us', 'p99 us'];
const title = `Broadcast of ${data.msg_bytes}-byte messages: deliveries/s (kernel ${data.kernel}, ${accel})`;
const chartOf = (chartTitle, field) => ({
  title: chartTitle,
  groups: counts.map((n) => ({
    name: `${n} receiver${n > 1 ? 's' : ''}`,
    bars: modes.filter((m) => find(m, n)).map((m) => ({ label: labels[m], value: find(m, n)[field] })),
  })),
});
const svg = barChartsSvg([
  chartOf(title, 'deliveries_per_s'),
  ...(windows ? [chartOf('Guest instructions per delivery, user + kernel (qemu TCG count; lower is better)', 'insns_per_delivery')] : []),
]);
const paths = writeResults(dirname(jsonPath), basename(jsonPath, '.json'), {
  data,
  markdown: `# ${title}\n\n${markdownTable(columns, rows)}\n\n\`\`\`json\n${JSON.stringify(summary)}\n\`\`\`\n`,
  svg,
});

console.log('');
console.log(textTable(columns, rows));
console.log('');
console.log(`receivers  ipn/relay  ipn/unix   (deliveries/s ratios${windows ? '; then instructions per delivery, relay/ipn and unix/ipn' : ''})`);
for (const n of counts) {
  const insns = windows ? `  ${String(summary[`ipn_vs_relay_${n}_insns`]).padStart(9)}  ${String(summary[`ipn_vs_unix_${n}_insns`]).padStart(8)}` : '';
  console.log(`${String(n).padStart(9)}  ${String(summary[`ipn_vs_relay_${n}`]).padStart(9)}  ${String(summary[`ipn_vs_unix_${n}`]).padStart(8)}${insns}`);
}
console.log(`wrote ${paths.json}, ${paths.md} and ${paths.svg}`);
console.log(JSON.stringify(summary));
