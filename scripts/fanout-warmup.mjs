// How a fan-out subscriber's CPU per message falls as its process warms
// (bench/README "Where the time per delivery goes"): one publisher sends
// Ticks (the bench's signal: interface org.ipnbus.Bench, body 'ts') as fast
// as the bus takes them, yielding every 64 as the bench does, to N
// subscriber processes on one private bus (user backend, core
// connections); each subscriber measures the CPU (user + system, all its
// threads) it used for every WINDOW messages. Run after `npm run build:ts`:
//   node scripts/fanout-warmup.mjs [N=16] [MESSAGES=24000] [WINDOW=2000] [BYTES=16]
// Prints one JSON line: per window the subscribers' mean us of CPU per
// message, the publisher's us of CPU per delivery, and the load average at
// the start and end.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
  let seen = 0;
  let mark = cpuUs();
  conn.on('message', (msg) => {
    if (msg.type !== SIGNAL || msg.member !== MEMBER || msg.interface !== IFACE) return;
    seen++;
    if (seen % window === 0) {
      const now = cpuUs();
      perWindow.push((now - mark) / window);
      mark = now;
    }
    if (seen === count) process.send({ perWindow });
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
    const reports = subs.map((s) => once(s, 'message').then(([m]) => m.perWindow));
    pub.send('go');
    const [{ cpuUs: pubUs }] = await once(pub, 'message');
    const perSub = await Promise.all(reports);
    const mean = perSub[0].map((_, w) => perSub.reduce((a, s) => a + s[w], 0) / perSub.length);
    console.log(JSON.stringify({
      subscribers: n, messages: count, window, bytes,
      subscriberUsPerMessage: mean.map((x) => Math.round(x * 100) / 100),
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
