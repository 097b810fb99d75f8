// The Markdown report of a benchmark run (bench.md): one table per scenario,
// ratios vs dbus-daemon, and vs dbus-broker when it was measured.
import type { Backend } from '../protocol.js';
import { SIDES, fanoutTarget, type BenchResult } from '../results.js';

const fmt = (n: number | null | undefined, unit = ''): string =>
  n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : `${n.toLocaleString('en-US')}${unit}`;
const x = (n: number | null | undefined): string => (n === null || n === undefined ? 'n/a' : `${n}x`);

/** Whether any scenario has figures for dbus-broker (its columns are left out otherwise). */
function brokerMeasured(r: BenchResult): boolean {
  return r.fanout.some((row) => row.sides['dbus-broker']) || r.calls.some((c) => c.sides['dbus-broker']) || r.latency.sides['dbus-broker'] !== undefined;
}

export function renderMarkdown(r: BenchResult): string {
  const m = r.machine;
  const withBroker = brokerMeasured(r);
  const sides: Backend[] = SIDES.filter((s) => withBroker || s !== 'dbus-broker');
  // Header cells per side, e.g. "dbus-daemon p50 | dbus-broker p50 | ipnbus p50".
  const each = (label: string) => sides.map((s) => `${s}${label}`).join(' | ');
  const ratioHead = withBroker ? 'ratio | vs dbus-broker' : 'ratio';
  const ratioCells = (vsDaemon: number | null, vsBroker: number | null) => (withBroker ? `${x(vsDaemon)} | ${x(vsBroker)}` : x(vsDaemon));
  const align = (n: number) => Array.from({ length: n }, () => '---:').join('|');
  const ratioCols = withBroker ? 2 : 1;
  const out: string[] = [];
  out.push(`# ipnbus vs dbus-daemon${withBroker ? ' and dbus-broker' : ''} (${r.mode} run, ${r.date})`, '');
  out.push(`Machine: ${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}; ipn.ko ${m.ipnModuleLoaded ? 'loaded' : 'not loaded'}; ipnbus transport: ${r.transport}.`);
  out.push(`Baseline: ${r.baselines.dbusDaemon} with ${r.baselines.client}. dbus-broker: ${r.baselines.dbusBroker}${withBroker ? ', same client' : ''}.`);
  out.push(`Ratios are ipnbus over dbus-daemon${withBroker ? ' ("ratio") and over dbus-broker ("vs dbus-broker")' : ''}.`, '');

  out.push('## Signal fan-out (deliveries/s, higher is better)', '');
  out.push(`Each subscriber is its own process; one publisher sends as fast as the bus takes it. Median of ${r.fanout[0]?.sides['dbus-daemon']?.roundsPerS.length ?? r.fanout[0]?.sides.ipnbus?.roundsPerS.length ?? 0} measured rounds after a warm-up round; CPU counts every process involved (the bus's too: dbus-daemon${withBroker ? '; dbus-broker-launch and dbus-broker' : ''}).`, '');
  out.push(`| subscribers | payload | ${each('')} | ${ratioHead} | ${each(' CPU us/delivery')} | ${each(' switches/delivery')} |`);
  out.push(`|---:|---|${align(sides.length)}|${align(ratioCols)}|${align(sides.length)}|${align(sides.length)}|`);
  for (const row of r.fanout) {
    const rate = sides.map((s) => fmt(row.sides[s]?.deliveriesPerS)).join(' | ');
    const cpu = sides.map((s) => fmt(row.sides[s]?.cpuUsPerDelivery)).join(' | ');
    const sw = sides.map((s) => fmt(row.sides[s]?.switchesPerDelivery)).join(' | ');
    out.push(`| ${row.subscribers} | ${row.payload} | ${rate} | ${ratioCells(row.ratio, row.vsBroker)} | ${cpu} | ${sw} |`);
  }
  const lost = r.fanout.flatMap((row) => Object.entries(row.sides)
    .filter(([, s]) => s && s.received !== s.expected)
    .map(([side, s]) => `${side} ${row.subscribers}/${row.payload}: ${s!.received}/${s!.expected}`));
  if (lost.length) out.push('', `Incomplete rounds (received/expected): ${lost.join('; ')}.`);

  const l = r.latency;
  out.push('', `## Signal latency at ${l.rate} signals/s, ${l.subscribers} subscriber (us, lower is better)`, '');
  out.push(`| | ${each('')} | ${ratioHead} |`, `|---|${align(sides.length)}|${align(ratioCols)}|`);
  out.push(`| p50 | ${sides.map((s) => fmt(l.sides[s]?.p50Us)).join(' | ')} | ${ratioCells(l.p50Ratio, l.p50VsBroker)} |`);
  out.push(`| p99 | ${sides.map((s) => fmt(l.sides[s]?.p99Us)).join(' | ')} | ${ratioCells(l.p99Ratio, l.p99VsBroker)} |`);

  out.push('', '## Method call round trip (us, lower is better)', '');
  out.push(`| in flight | ${each(' p50')} | ${ratioHead} | ${each(' p99')} | ${each(' calls/s')} |`);
  out.push(`|---:|${align(sides.length)}|${align(ratioCols)}|${align(sides.length)}|${align(sides.length)}|`);
  for (const c of r.calls) {
    const col = (f: (s: NonNullable<typeof c.sides.ipnbus>) => number) => sides.map((s) => fmt(c.sides[s] ? f(c.sides[s]!) : undefined)).join(' | ');
    out.push(`| ${c.inflight} | ${col((s) => s.p50Us)} | ${ratioCells(c.p50Ratio, c.p50VsBroker)} | ${col((s) => s.p99Us)} | ${col((s) => s.callsPerS)} |`);
  }

  out.push('', '## Memory (16-subscriber fan-out)', '');
  out.push('| | bus process RSS (KiB) | mean member RSS (KiB) |', '|---|---:|---:|');
  const busRss: Record<Backend, (kib: number | undefined) => string> = {
    'dbus-daemon': (kib) => fmt(kib),
    'dbus-broker': (kib) => `${fmt(kib)} (launcher + broker)`,
    ipnbus: () => '0 (no bus process)',
    'ipnbus-gateway': (kib) => `${fmt(kib)} (gateway process)`,
  };
  for (const side of SIDES) {
    const mem = r.memory[side];
    if (mem) out.push(`| ${side} | ${busRss[side](mem.busProcessRssKiB)} | ${fmt(mem.memberRssKiBMean)} |`);
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

  if (r.nodeCallFloor) {
    out.push('', `Node.js call floor: a 64-byte ping-pong over node:net (AF_UNIX) between two node processes, one in flight: p50 ${fmt(r.nodeCallFloor.p50Us)} us, p99 ${fmt(r.nodeCallFloor.p99Us)} us.`);
  }

  const g = r.gateway;
  out.push('', '## Stock clients over `ipnbus gateway` vs dbus-daemon (dbus-next on both)', '');
  if (g.fanout.length || g.calls.length) {
    const gw = (f: (side: 'dbus-daemon' | 'ipnbus-gateway') => number | undefined) => `${fmt(f('dbus-daemon'))} | ${fmt(f('ipnbus-gateway'))}`;
    const row = g.fanout[0];
    const call = g.calls[0];
    out.push('| figure | dbus-daemon | ipnbus gateway | gateway / dbus-daemon |', '|---|---:|---:|---:|');
    if (row) {
      out.push(`| fan-out to ${row.subscribers}, ${row.payload}: deliveries/s | ${gw((s) => row.sides[s]?.deliveriesPerS)} | ${x(row.ratio)} |`);
      out.push(`| same: CPU us per delivery (the bus process included) | ${gw((s) => row.sides[s]?.cpuUsPerDelivery)} | |`);
      out.push(`| same: context switches per delivery | ${gw((s) => row.sides[s]?.switchesPerDelivery)} | |`);
    }
    const callLine = (label: string, c: typeof call) =>
      `| ${label} | ${fmt(c!.sides['dbus-daemon']?.p50Us)} / ${fmt(c!.sides['dbus-daemon']?.p99Us)} | ${fmt(c!.sides['ipnbus-gateway']?.p50Us)} / ${fmt(c!.sides['ipnbus-gateway']?.p99Us)} | ${x(c!.p50Ratio)} |`;
    if (call) out.push(callLine('call p50 / p99, 1 in flight (us), stock -> stock', call));
    if (g.calls[1]) out.push(callLine('call p50 / p99, 1 in flight (us), stock -> native ipnbus service', g.calls[1]));
    out.push(`| connection set-up p50 / p99 (us; connect, auth, Hello) | ${fmt(g.connect['dbus-daemon']?.p50Us)} / ${fmt(g.connect['dbus-daemon']?.p99Us)} | ${fmt(g.connect['ipnbus-gateway']?.p50Us)} / ${fmt(g.connect['ipnbus-gateway']?.p99Us)} | ${x(r.summary.gateway_connect_p50_vs_daemon)} |`);
  } else {
    out.push('Not measured (see errors).');
  }

  const s = r.summary;
  out.push('', '## Summary', '');
  out.push('| figure | value | target |', '|---|---:|---:|');
  out.push(`| fan-out 16, small: ipnbus / dbus-daemon deliveries/s | ${x(s.fanout16_small_ratio)} | >= ${fanoutTarget(r)}x |`);
  out.push(`| latency p50: ipnbus / dbus-daemon | ${x(s.latency_p50_ratio)} | <= 0.35x |`);
  out.push(`| call p50 (1 in flight): ipnbus / dbus-daemon | ${x(s.call_p50_ratio)} | <= 0.4x |`);
  out.push(`| CPU per delivery: ipnbus / dbus-daemon | ${x(s.cpu_per_delivery_ratio)} | |`);
  out.push(`| call p50 / C round trip | ${x(s.call_vs_floor)} | |`);
  out.push(`| signal latency p50 / half the C round trip | ${x(s.latency_vs_floor)} | |`);
  out.push(`| signal latency p50 / half the paced C round trip | ${x(s.latency_vs_paced_floor)} | |`);
  out.push(`| signal latency p50 / Node.js floor (paced node:net) | ${x(s.latency_vs_node_floor)} | |`);
  out.push(`| fan-out 16, 4 KiB: ipnbus / C one-send-per-receiver floor | ${x(s.fanout16_4k_vs_c_floor)} | >= 1x |`);
  out.push(`| call p50 / Node.js ping-pong floor | ${x(s.call_vs_node_floor)} | <= 1.2x |`);
  out.push(`| context switches per delivery, 16 subs small: dbus-daemon / dbus-broker / ipnbus | ${fmt(s.switches16_small_daemon)} / ${fmt(s.switches16_small_broker)} / ${fmt(s.switches16_small_ipnbus)} | |`);
  out.push(`| gateway / dbus-daemon: fan-out 16 small, call p50, connection set-up p50 | ${x(s.gateway_fanout16_vs_daemon)}, ${x(s.gateway_call_p50_vs_daemon)}, ${x(s.gateway_connect_p50_vs_daemon)} | |`);
  out.push(`| gateway / dbus-daemon: call p50 stock -> stock, stock -> native | ${x(s.gateway_call_p50_vs_daemon)}, ${x(s.gateway_call_native_p50_vs_daemon)} | <= 1.5x, <= 1.2x |`);
  if (withBroker) {
    out.push(`| fan-out 64, small: ipnbus / dbus-broker deliveries/s | ${x(s.fanout64_small_vs_broker)} | >= 3x |`);
    out.push(`| fan-out 16, small: ipnbus / dbus-broker deliveries/s | ${x(s.fanout16_small_vs_broker)} | |`);
    out.push(`| latency p50: ipnbus / dbus-broker | ${x(s.latency_p50_vs_broker)} | |`);
    out.push(`| call p50 (1 in flight): ipnbus / dbus-broker | ${x(s.call_p50_vs_broker)} | |`);
  }
  if (r.errors.length) out.push('', '## Errors', '', ...r.errors.map((e) => `- ${e}`));
  out.push('');
  return out.join('\n');
}
