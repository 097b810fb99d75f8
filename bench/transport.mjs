// Transport benchmark: broadcast throughput and latency of the Network
// backends (user mesh here; kernel AF_IPN too when ipn.ko is loaded, i.e.
// inside the VM via scripts/vm/run.sh) against a C AF_UNIX fan-out baseline
// (bench/transport/fanout.c, compiled here with cc) in the same run.
//
//   npm run bench:transport            (after npm run build)
//   IPNBUS_BENCH_SCALE=0.2 ...         fewer messages (the VM is slow)
//   IPNBUS_BENCH_MEMBERS=1,4,16 ...    receiver counts
//   IPNBUS_BENCH_REPEAT=3              throughput runs per figure (median)
//
// "members" = receivers of each broadcast (the sender is one more member).
// Receivers live in up to 4 host processes (bench/transport/host.mjs) so 64
// members do not mean 64 Node processes on a small machine; the C receivers
// are grouped the same way (epoll over their sockets). Throughput is
// deliveries per second (messages x receivers); latency is the round trip of
// a broadcast to one receiver that answers with a unicast. Writes
// bench/results/transport.{json,md,svg} (transport-vm.* inside the VM); the
// last line is one JSON object.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import native from '../native/index.cjs';
import { open } from '../packages/transport-ipn/dist/index.js';
import { barChartSvg, defaultResultsDir, markdownTable, textTable, writeResults } from '@ipnbus/bench/report';
import { median } from '@ipnbus/bench/timing';

const here = dirname(fileURLToPath(import.meta.url));
const SCALE = Number(process.env.IPNBUS_BENCH_SCALE ?? '1');
const MEMBERS = (process.env.IPNBUS_BENCH_MEMBERS ?? '1,4,16,64').split(',').map(Number);
const SIZES = [64, 4096];
const MAX_HOSTS = 4;
const LAT_ROUNDS = Math.max(50, Math.round(300 * SCALE));

const work = mkdtempSync(join(tmpdir(), 'ipnbus-bench-'));
const fanout = join(work, 'fanout');
execFileSync('cc', ['-O2', '-o', fanout, join(here, 'transport', 'fanout.c')]);

/** Messages per run: about the same number of deliveries at every size. */
function messagesFor(members, size) {
  const deliveries = (size <= 64 ? 400_000 : 150_000) * SCALE;
  return Math.max(500, Math.round(deliveries / members));
}

// The C receivers are grouped into processes exactly like our member hosts,
// so both pay for the same process wake-ups.
function runC(mode, members, count, size) {
  const procs = Math.min(MAX_HOSTS, members);
  return JSON.parse(execFileSync(fanout, [mode, String(members), String(count), String(size), String(procs)],
    { encoding: 'utf8' }));
}

function hostCall(h, msg, want) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.op === want) {
        h.off('message', on);
        resolve(m);
      }
    };
    h.on('message', on);
    h.send(msg);
  });
}

let runs = 0;
async function runNetwork(backend, members, size, withLatency) {
  const path = join(work, `bus-${backend}-${members}-${size}-${++runs}`);
  const sender = await open(path, { backend });
  const nhosts = Math.min(MAX_HOSTS, members);
  const hosts = Array.from({ length: nhosts }, () => fork(join(here, 'transport', 'host.mjs'), [], { stdio: 'inherit' }));
  try {
    const per = hosts.map((_, i) => Math.floor(members / nhosts) + (i < members % nhosts ? 1 : 0));
    // Join one host at a time: joins serialise on the network lock anyway.
    for (let i = 0; i < nhosts; i++) await hostCall(hosts[i], { op: 'open', path, backend, members: per[i] }, 'opened');
    while (sender.members().length < members) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));

    // Throughput.
    const count = messagesFor(members, size);
    await Promise.all(hosts.map((h) => hostCall(h, { op: 'expect', count }, 'ready')));
    const done = Promise.all(hosts.map((h) => new Promise((r) => {
      const on = (m) => {
        if (m.op === 'done') {
          h.off('message', on);
          r();
        }
      };
      h.on('message', on);
    })));
    const payload = Buffer.alloc(size);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      payload.writeUInt32LE(i, 0);
      if (!sender.broadcast(payload)) await new Promise((r) => sender.once('drain', r));
    }
    await done;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;

    if (!withLatency) return { deliveries: count * members, seconds, rttMedian: null, rttP99: null };
    // Latency: receiver 0 answers each broadcast with a unicast.
    await Promise.all(hosts.map((h) => hostCall(h, { op: 'expect', count: LAT_ROUNDS, echo: true }, 'ready')));
    const rtts = [];
    for (let i = 0; i < LAT_ROUNDS; i++) {
      const got = new Promise((r) => sender.once('message', r));
      const s = process.hrtime.bigint();
      payload.writeUInt32LE(i, 0);
      if (!sender.broadcast(payload)) await new Promise((r) => sender.once('drain', r));
      await got;
      rtts.push(Number(process.hrtime.bigint() - s) / 1e3);
    }
    rtts.sort((a, b) => a - b);
    return { deliveries: count * members, seconds, rttMedian: median(rtts), rttP99: rtts[Math.floor(rtts.length * 0.99)] };
  } finally {
    for (const h of hosts) h.kill('SIGKILL');
    sender.close();
  }
}

const backends = ['user', ...(native.ipnFamily() !== null ? ['kernel'] : [])];
// Each throughput figure is the median of REPEAT runs, C and ours alike,
// interleaved so that load from elsewhere on the machine hits both.
const REPEAT = Math.max(1, Number(process.env.IPNBUS_BENCH_REPEAT ?? '3'));
const rows = [];
for (const size of SIZES) {
  for (const members of MEMBERS) {
    const count = messagesFor(members, size);
    const cRates = [];
    const ours = Object.fromEntries(backends.map((b) => [b, []]));
    for (let rep = 0; rep < REPEAT; rep++) {
      const c = runC('tput', members, count, size);
      cRates.push(c.deliveries / c.seconds);
      for (const backend of backends) ours[backend].push(await runNetwork(backend, members, size, rep === 0));
    }
    const cl = runC('lat', members, LAT_ROUNDS, size);
    const cRate = median(cRates);
    rows.push({ impl: 'C fan-out', members, size, 'deliveries/s': cRate, 'broadcasts/s': cRate / members,
      'rtt us (median)': cl.rtt_us_median, 'rtt us (p99)': cl.rtt_us_p99, 'vs C': 1 });
    for (const backend of backends) {
      const runs = ours[backend];
      const rate = median(runs.map((r) => r.deliveries / r.seconds));
      const lat = runs.find((r) => r.rttMedian !== null);
      rows.push({ impl: backend, members, size, 'deliveries/s': rate, 'broadcasts/s': rate / members,
        'rtt us (median)': lat.rttMedian, 'rtt us (p99)': lat.rttP99, 'vs C': rate / cRate });
    }
    process.stderr.write(`bench:transport ${size} B x ${members} members done\n`);
  }
}
rmSync(work, { recursive: true, force: true });

const columns = ['impl', 'members', 'size', 'deliveries/s', 'broadcasts/s', 'rtt us (median)', 'rtt us (p99)', 'vs C'];
const ratio = (impl, members) => {
  const r = rows.find((x) => x.impl === impl && x.members === members && x.size === 64);
  return r === undefined ? null : Number(r['vs C'].toFixed(3));
};
const summary = {
  bench: 'transport',
  user_vs_c_16: ratio('user', 16),
  kernel_vs_c_16: ratio('kernel', 16),
  user_deliveries_per_s_16: rows.find((x) => x.impl === 'user' && x.members === 16 && x.size === 64)?.['deliveries/s'] ?? null,
  vm: process.env.IPNBUS_VM === '1',
};
const svg = barChartSvg({
  title: 'Broadcast deliveries per second',
  groups: rows.filter((r) => r.impl === 'C fan-out').map((c) => ({
    name: `${c.size} B, ${c.members} members`,
    bars: rows.filter((r) => r.size === c.size && r.members === c.members).map((r) => ({ label: r.impl, value: r['deliveries/s'] })),
  })),
  log: true,
});
const table = textTable(columns, rows);
// Inside the VM the figures are the kernel backend's: keep both files.
writeResults(defaultResultsDir(), process.env.IPNBUS_VM === '1' ? 'transport-vm' : 'transport', {
  data: { rows, summary, scale: SCALE, when: new Date().toISOString() },
  markdown: `# Transport benchmark\n\n${markdownTable(columns, rows)}\n\n\`\`\`json\n${JSON.stringify(summary)}\n\`\`\`\n`,
  svg,
});
console.log(table);
console.log(JSON.stringify(summary));
