// What a bus monitor costs the members it watches (bus/README "Monitors"):
// calls/s and the caller's + callee's CPU per call, without and with a
// native monitor reading every copy, in alternating rounds on one private
// bus (user backend). Caller, callee and monitor each run in their own
// process. Run after `npm run build:ts`:
//   node scripts/monitor-cost.mjs            (N=20000 calls a round, ROUNDS=5)
// Prints one JSON line: per round [calls/s, us of CPU per call], the copies
// the monitor got (2 per call: call and reply), and the ratios of medians.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from '../packages/bus/dist/core/index.js';

const SERVICE = 'org.ipnbus.MonitorCost';
const [role, address] = process.argv.slice(2);

/** Answers Echo; on "cpu" prints the CPU it used so far (us). */
async function callee() {
  const conn = await connect({ address, backend: 'user' });
  await conn.requestName(SERVICE, 0);
  conn.on('methodCall', ({ msg }) => conn.reply(msg, 's', [msg.body[0]]));
  process.stdout.write(`ready ${conn.uniqueName}\n`);
  createInterface({ input: process.stdin }).on('line', () => {
    const u = process.cpuUsage();
    process.stdout.write(`cpu ${u.user + u.system}\n`);
  });
}

/** Becomes a monitor of everything; on any line prints how many messages it got. */
async function monitor() {
  const conn = await connect({ address, backend: 'user' });
  let seen = 0;
  conn.on('message', () => seen++);
  conn.becomeMonitor([]);
  await conn.settle();
  process.stdout.write(`ready ${conn.uniqueName}\n`);
  createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`count ${seen}\n`));
}

/** A child in one of the roles above, and the lines it prints, taken by prefix. */
function child(which, busAddress) {
  const proc = spawn(process.execPath, [process.argv[1], which, busAddress], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let wake = () => {};
  createInterface({ input: proc.stdout }).on('line', (l) => {
    lines.push(l);
    wake();
  });
  async function next(prefix) {
    for (;;) {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return lines.splice(i, 1)[0].split(' ')[1];
      await new Promise((resolve) => (wake = resolve));
    }
  }
  return { proc, next };
}

async function main() {
  const N = Number(process.env.N ?? 20000);
  const ROUNDS = Number(process.env.ROUNDS ?? 5);
  const IN_FLIGHT = 100;
  const dir = mkdtempSync(join(tmpdir(), 'ipnbus-monitor-cost-'));
  const busAddress = `ipnbus:path=${join(dir, 'bus')}`;
  const caller = await connect({ address: busAddress, backend: 'user' });
  const svc = child('callee', busAddress);
  await svc.next('ready');
  const calleeCpu = async () => {
    svc.proc.stdin.write('cpu\n');
    return Number(await svc.next('cpu'));
  };
  const round = async () => {
    const c0 = process.cpuUsage();
    const s0 = await calleeCpu();
    const t0 = performance.now();
    let started = 0;
    const worker = async () => {
      while (started < N) {
        started++;
        await caller.call({ destination: SERVICE, path: '/', interface: SERVICE, member: 'Echo', signature: 's', body: ['x'] });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const s1 = await calleeCpu();
    return [Math.round(N / (ms / 1000)), Number(((c.user + c.system + s1 - s0) / N).toFixed(1))];
  };
  await round(); // warm-up
  const out = { none: [], monitor: [], copies: [] };
  for (let i = 0; i < ROUNDS; i++) {
    out.none.push(await round());
    const mon = child('monitor', busAddress);
    const name = await mon.next('ready');
    // A round trip to the monitor's member: its record has reached us (the callee got it at its settle()).
    const ping = () => caller.call({ destination: name, path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
    await ping();
    out.monitor.push(await round());
    await ping();
    mon.proc.stdin.write('count\n');
    out.copies.push(Number(await mon.next('count')));
    mon.proc.kill();
  }
  const median = (rows, k) => rows.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
  console.log(JSON.stringify({
    load: loadavg().map((x) => Number(x.toFixed(1))), N, rounds: ROUNDS, none: out.none, monitor: out.monitor, copies: out.copies,
    callsPerSecondRatio: Number((median(out.monitor, 0) / median(out.none, 0)).toFixed(2)),
    cpuPerCallRatio: Number((median(out.monitor, 1) / median(out.none, 1)).toFixed(2)),
  }));
  svc.proc.kill();
  caller.disconnect();
  rmSync(dir, { recursive: true, force: true });
}

if (role === 'callee') await callee();
else if (role === 'monitor') await monitor();
else await main();
