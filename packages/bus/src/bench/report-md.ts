// The Markdown report of a benchmark run (bench.md): one table per scenario, ratios vs dbus-daemon.
import type { BenchResult } from './results.js';

const fmt = (n: number | null | undefined, unit = ''): string =>
  n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : `${n.toLocaleString('en-US')}${unit}`;
const x = (n: number | null | undefined): string => (n === null || n === undefined ? 'n/a' : `${n}x`);

export function renderMarkdown(r: BenchResult): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`# ipnbus vs dbus-daemon (${r.mode} run, ${r.date})`, '');
  out.push(`Machine: ${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}; ipn.ko ${m.ipnModuleLoaded ? 'loaded' : 'not loaded'}; ipnbus transport: ${r.transport}.`);
  out.push(`Baseline: ${r.baselines.dbusDaemon} with ${r.baselines.client}. dbus-broker: ${r.baselines.dbusBroker}.`, '');

  out.push('## Signal fan-out (deliveries/s, higher is better)', '');
  out.push(`Each subscriber is its own process; one publisher sends as fast as the bus takes it. Median of ${r.fanout[0]?.sides['dbus-daemon']?.roundsPerS.length ?? r.fanout[0]?.sides.ipnbus?.roundsPerS.length ?? 0} measured rounds after a warm-up round; CPU counts every process involved (the daemon too).`, '');
  out.push('| subscribers | payload | dbus-daemon | ipnbus | ratio | CPU us/delivery dbus-daemon | CPU us/delivery ipnbus |');
  out.push('|---:|---|---:|---:|---:|---:|---:|');
  for (const row of r.fanout) {
    const d = row.sides['dbus-daemon'];
    const i = row.sides.ipnbus;
    out.push(`| ${row.subscribers} | ${row.payload} | ${fmt(d?.deliveriesPerS)} | ${fmt(i?.deliveriesPerS)} | ${x(row.ratio)} | ${fmt(d?.cpuUsPerDelivery)} | ${fmt(i?.cpuUsPerDelivery)} |`);
  }
  const lost = r.fanout.flatMap((row) => Object.entries(row.sides)
    .filter(([, s]) => s && s.received !== s.expected)
    .map(([side, s]) => `${side} ${row.subscribers}/${row.payload}: ${s!.received}/${s!.expected}`));
  if (lost.length) out.push('', `Incomplete rounds (received/expected): ${lost.join('; ')}.`);

  const l = r.latency;
  out.push('', `## Signal latency at ${l.rate} signals/s, ${l.subscribers} subscriber (us, lower is better)`, '');
  out.push('| | dbus-daemon | ipnbus | ratio |', '|---|---:|---:|---:|');
  out.push(`| p50 | ${fmt(l.sides['dbus-daemon']?.p50Us)} | ${fmt(l.sides.ipnbus?.p50Us)} | ${x(l.p50Ratio)} |`);
  out.push(`| p99 | ${fmt(l.sides['dbus-daemon']?.p99Us)} | ${fmt(l.sides.ipnbus?.p99Us)} | ${x(l.p99Ratio)} |`);

  out.push('', '## Method call round trip (us, lower is better)', '');
  out.push('| in flight | dbus-daemon p50 | ipnbus p50 | ratio | dbus-daemon p99 | ipnbus p99 | dbus-daemon calls/s | ipnbus calls/s |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of r.calls) {
    const d = c.sides['dbus-daemon'];
    const i = c.sides.ipnbus;
    out.push(`| ${c.inflight} | ${fmt(d?.p50Us)} | ${fmt(i?.p50Us)} | ${x(c.p50Ratio)} | ${fmt(d?.p99Us)} | ${fmt(i?.p99Us)} | ${fmt(d?.callsPerS)} | ${fmt(i?.callsPerS)} |`);
  }

  out.push('', '## Memory (16-subscriber fan-out)', '');
  out.push('| | bus process RSS (KiB) | mean member RSS (KiB) |', '|---|---:|---:|');
  for (const [side, mem] of Object.entries(r.memory)) {
    out.push(`| ${side} | ${side === 'ipnbus' ? '0 (no bus process)' : fmt(mem?.busProcessRssKiB)} | ${fmt(mem?.memberRssKiBMean)} |`);
  }

  out.push('', '## Physical floor (C, AF_UNIX SOCK_SEQPACKET)', '');
  if (r.floor) {
    out.push(`Ping-pong round trip, 64 bytes, back to back: p50 ${fmt(r.floor.pingpong.rtt_p50_ns / 1000)} us, p99 ${fmt(r.floor.pingpong.rtt_p99_ns / 1000)} us.`);
    const pp = r.floor.pingpongPaced;
    out.push(`Same, one round trip every ${pp.interval_us} us (both processes wake from idle, as in the latency scenario): p50 ${fmt(pp.rtt_p50_ns / 1000)} us, p99 ${fmt(pp.rtt_p99_ns / 1000)} us.`, '');
    out.push('| receivers | bytes | deliveries/s (one send per receiver) |', '|---:|---:|---:|');
    for (const f of r.floor.fanout) out.push(`| ${f.receivers} | ${f.size} | ${fmt(f.deliveries_per_s)} |`);
  } else {
    out.push('Not measured (see errors).');
  }
  if (r.nodeFloor) {
    out.push('', `Node.js floor: a stamp written over a plain AF_UNIX socket (node:net) between two node processes at ${r.nodeFloor.rate}/s arrives after p50 ${fmt(r.nodeFloor.p50Us)} us, p99 ${fmt(r.nodeFloor.p99Us)} us: what any Node client pays, bus or not.`);
  }

  const s = r.summary;
  out.push('', '## Summary', '');
  out.push('| figure | value | target |', '|---|---:|---:|');
  out.push(`| fan-out 16, small: ipnbus / dbus-daemon deliveries/s | ${x(s.fanout16_small_ratio)} | >= 5x |`);
  out.push(`| latency p50: ipnbus / dbus-daemon | ${x(s.latency_p50_ratio)} | <= 0.35x |`);
  out.push(`| call p50 (1 in flight): ipnbus / dbus-daemon | ${x(s.call_p50_ratio)} | <= 0.4x |`);
  out.push(`| CPU per delivery: ipnbus / dbus-daemon | ${x(s.cpu_per_delivery_ratio)} | |`);
  out.push(`| call p50 / C round trip | ${x(s.call_vs_floor)} | |`);
  out.push(`| signal latency p50 / half the C round trip | ${x(s.latency_vs_floor)} | |`);
  out.push(`| signal latency p50 / half the paced C round trip | ${x(s.latency_vs_paced_floor)} | |`);
  out.push(`| signal latency p50 / Node.js floor (paced node:net) | ${x(s.latency_vs_node_floor)} | |`);
  if (r.errors.length) out.push('', '## Errors', '', ...r.errors.map((e) => `- ${e}`));
  out.push('');
  return out.join('\n');
}
