// The pub/sub benchmark's reports: pubsub.md (tables) and pubsub.svg
// (deliveries/s per cell, the three sides side by side).
import { barChartSvg } from '../report/bar-chart.js';
import { PUBSUB_SIDES, SIDE_LABEL } from './config.js';
import type { PubsubResult } from './results.js';

const fmt = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toLocaleString('en-US'));
const x = (n: number | null | undefined): string => (n === null || n === undefined ? 'n/a' : `${n}x`);

export function renderPubsubMarkdown(r: PubsubResult): string {
  const m = r.machine;
  const out: string[] = [];
  const each = (f: (side: (typeof PUBSUB_SIDES)[number]) => string) => PUBSUB_SIDES.map(f).join(' | ');
  out.push(`# ipnbus publish/subscribe vs raw signals vs ZeroMQ (${r.mode} run, ${r.date})`, '');
  out.push(`Machine: ${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}; load average ${m.loadStart.join(' ')} at the start, ${m.loadEnd.join(' ')} at the end. ZeroMQ: npm zeromq ${r.versions.zeromq} (libzmq ${r.versions.libzmq}), high-water marks 0 (no limit).`, '');
  out.push(`Sides: ${each((s) => `**${s}** = ${SIDE_LABEL[s]}`)}. Every subscriber is its own process; one publisher sends as fast as the side takes it (yielding every 64 messages). Median of the measured rounds; CPU and context switches count every process of the side, all threads.`, '');
  out.push('## Deliveries/s (higher is better)', '');
  out.push(`| subscribers | payload | ${each((s) => s)} | publish / signal | publish / zmq | signal / zmq |`);
  out.push('|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const c of r.cells) {
    out.push(`| ${c.subscribers} | ${c.payload} | ${each((s) => fmt(c.sides[s]?.deliveriesPerS))} | ${x(c.pubsubVsSignal)} | ${x(c.pubsubVsZmq)} | ${x(c.signalVsZmq)} |`);
  }
  out.push('', `## Latency at ${r.latency.rate} messages/s, p50 / p99 (us, lower is better)`, '');
  out.push(`Stamp to receive, every subscriber's samples after its first ${r.latency.warmup}; "blast" is the same while the publisher sends as fast as it can (queueing included).`, '');
  out.push(`| subscribers | payload | ${each((s) => `${s} p50 / p99`)} | publish / zmq p50 | publish / zmq p99 | ${each((s) => `${s} blast p50 / p99`)} |`);
  out.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of r.cells) {
    const pair = (a?: number, b?: number) => `${fmt(a)} / ${fmt(b)}`;
    out.push(`| ${c.subscribers} | ${c.payload} | ${each((s) => pair(c.sides[s]?.p50Us, c.sides[s]?.p99Us))} | ${x(c.p50VsZmq)} | ${x(c.p99VsZmq)} | ${each((s) => pair(c.sides[s]?.blastP50Us, c.sides[s]?.blastP99Us))} |`);
  }
  out.push('', '## Cost per delivery: CPU us / context switches', '');
  out.push(`| subscribers | payload | ${each((s) => s)} |`, '|---:|---|---:|---:|---:|');
  for (const c of r.cells) {
    out.push(`| ${c.subscribers} | ${c.payload} | ${each((s) => `${fmt(c.sides[s]?.cpuUsPerDelivery)} / ${fmt(c.sides[s]?.switchesPerDelivery)}`)} |`);
  }
  const lost = r.cells.flatMap((c) => PUBSUB_SIDES.filter((s) => (c.sides[s]?.lost ?? 0) + (c.sides[s]?.latencyLost ?? 0) > 0)
    .map((s) => `${s} ${c.subscribers}/${c.payload}: ${c.sides[s]!.lost} in blast rounds, ${c.sides[s]!.latencyLost} in the paced one`));
  out.push('', lost.length ? `Lost deliveries: ${lost.join('; ')}.` : 'Lost deliveries: none on any side.');
  const s = r.summary;
  out.push('', '## Summary (over every cell)', '');
  out.push('| figure | value | target |', '|---|---:|---:|');
  out.push(`| publish/subscribe / raw signals, deliveries/s, smallest | ${x(s.pubsub_vs_signal_min)} | >= 0.9x |`);
  out.push(`| publish/subscribe / ZeroMQ, deliveries/s, smallest | ${x(s.pubsub_vs_zmq_min)} | >= 2x |`);
  out.push(`| raw signals / ZeroMQ, deliveries/s, smallest | ${x(s.signal_vs_zmq_min)} | |`);
  out.push(`| publish/subscribe / ZeroMQ latency p50, largest | ${x(s.pubsub_p50_vs_zmq_max)} | < 1x |`);
  out.push(`| publish/subscribe / ZeroMQ latency p99, largest | ${x(s.pubsub_p99_vs_zmq_max)} | < 1x |`);
  if (r.errors.length) out.push('', '## Errors', '', ...r.errors.map((e) => `- ${e}`));
  out.push('');
  return out.join('\n');
}

export function renderPubsubSvg(r: PubsubResult): string {
  return barChartSvg({
    title: `Pub/sub deliveries/s, ${r.mode} run ${r.date.slice(0, 16)}Z`,
    unit: '/s',
    log: true,
    groups: r.cells.map((c) => ({
      name: `${c.subscribers} subscriber${c.subscribers > 1 ? 's' : ''}, ${c.payload}`,
      bars: PUBSUB_SIDES.filter((s) => c.sides[s]).map((s) => ({ label: SIDE_LABEL[s], value: c.sides[s]!.deliveriesPerS })),
    })),
  });
}
