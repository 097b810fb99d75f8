// How a fan-out subscriber's CPU per message falls as its process warms
// (bench/README "Where the time per delivery goes"): one publisher sends
// Ticks (the bench's signal: interface org.ipnbus.Bench, body 'ts') as fast
// as the bus takes them, yielding every 64 as the bench does, to N
// subscriber processes on one private bus (user backend, core
// connections); each subscriber measures the CPU (user + system, all its
// threads) it used for every WINDOW messages, and when each window ended.
// Run after `npm run build:ts`:
//   node scripts/fanout-warmup.mjs [N=16] [MESSAGES=24000] [WINDOW=2000] [BYTES=16]
// Prints one JSON line: per window the subscribers' mean us of CPU per
// message, the deliveries per second (the window's messages to every
// subscriber, over the time between the median subscriber's ends of the
// previous window and of this one: subscribers fall behind the publisher by
// different amounts, and the last one to end a window is mostly the one
// the scheduler ran last) and the share of the machine's cores the
// subscribers used meanwhile (their CPU in the window over that time); the publisher's us of CPU per delivery,
// and the load average at the start and end.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect } from '../packages/bus/dist/core/index.js';

const IFACE = 'org.ipnbus.Bench';
const MEMBER = 'Tick';
const PATH = '/org/ipnbus/Bench';
const SIGNAL = 4;
const self = fileURLToPath(import.meta.url);

/** us of CPU this process used so far, every thread. */
function cpuUs() {
  const r = process.resourceUsage();
  return r.userCPUTime + r.systemCPUTime;
}

/** Counts Ticks; reports the CPU of every `window` of them, and once `count` arrived. */
async function subscriber(address, count, window) {
  const conn = await connect({ address, backend: 'user' });
  const perWindow = [];
  const cpuPerWindow = [];
  /** performance.timeOrigin + now(): comparable across processes. */
  const endsMs = [];
  let seen = 0;
  let mark = cpuUs();
  conn.on('message', (msg) => {
    if (msg.type !== SIGNAL || msg.member !== MEMBER || msg.interface !== IFACE) return;
    seen++;
    if (seen % window === 0) {
      const now = cpuUs();
      perWindow.push((now - mark) / window);
      cpuPerWindow.push(now - mark);
      endsMs.push(performance.timeOrigin + performance.now());
      mark = now;
    }
    if (seen === count) process.send({ perWindow, cpuPerWindow, endsMs });
  });
  conn.addMatch(`type='signal',interface='${IFACE}',member='${MEMBER}'`);
  await conn.settle();
  process.send({ ready: true });
  await once(process, 'disconnect');
  conn.disconnect();
}

/** Sends `count` Ticks once told to; reports its CPU for them. */
async function publisher(address, count, bytes) {
  const conn = await connect({ address, backend: 'user' });
  process.send({ ready: true });
  await once(process, 'message');
  const payload = 'Z'.repeat(bytes);
  const start = cpuUs();
  for (let i = 0; i < count; i++) {
    conn.emitSignal(PATH, IFACE, MEMBER, 'ts', [process.hrtime.bigint(), payload]);
    if ((i & 63) === 63) await yieldToLoop();
  }
  await yieldToLoop();
  while (conn.backpressured) await once(conn, 'drain');
  process.send({ cpuUs: cpuUs() - start });
  await once(process, 'disconnect');
  conn.disconnect();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function main(n, count, window, bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'ipnbus-fanout-warmup-'));
  const address = `ipnbus:path=${join(dir, 'bus')}`;
  const loadStart = loadavg();
  const children = [];
  try {
    const start = async (args) => {
      const child = fork(self, args);
      children.push(child);
      const [msg] = await once(child, 'message');
      if (!msg.ready) throw new Error('child did not start');
      return child;
    };
    const subs = [];
    for (let i = 0; i < n; i++) subs.push(await start(['sub', address, String(count), String(window)]));
    const pub = await start(['pub', address, String(count), String(bytes)]);
    const reports = subs.map((s) => once(s, 'message').then(([m]) => m));
    const goMs = performance.timeOrigin + performance.now();
    pub.send('go');
    const [{ cpuUs: pubUs }] = await once(pub, 'message');
    const perSub = await Promise.all(reports);
    const windows = perSub[0].perWindow.length;
    const mean = [];
    const deliveriesPerSecond = [];
    const coreShare = [];
    let prevEnd = goMs;
    for (let w = 0; w < windows; w++) {
      mean.push(perSub.reduce((a, s) => a + s.perWindow[w], 0) / n);
      const end = median(perSub.map((s) => s.endsMs[w]));
      const cpuUs = perSub.reduce((a, s) => a + s.cpuPerWindow[w], 0);
      deliveriesPerSecond.push(Math.round((n * window) / ((end - prevEnd) / 1000)));
      coreShare.push(Math.round((cpuUs / 1000 / (end - prevEnd) / availableParallelism()) * 100) / 100);
      prevEnd = end;
    }
    console.log(JSON.stringify({
      subscribers: n, messages: count, window, bytes,
      subscriberUsPerMessage: mean.map((x) => Math.round(x * 100) / 100),
      deliveriesPerSecond,
      subscribersCoreShare: coreShare,
      publisherUsPerDelivery: Math.round((pubUs / (count * n)) * 100) / 100,
      loadStart: loadStart.map((x) => Math.round(x * 10) / 10),
      loadEnd: loadavg().map((x) => Math.round(x * 10) / 10),
    }));
  } finally {
    for (const c of children) if (c.connected) c.disconnect();
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === 'sub') await subscriber(args[0], Number(args[1]), Number(args[2]));
else if (role === 'pub') await publisher(args[0], Number(args[1]), Number(args[2]));
else await main(Number(role ?? 16), Number(args[0] ?? 24_000), Number(args[1] ?? 2000), Number(args[2] ?? 16));
