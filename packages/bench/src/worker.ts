// A benchmark worker process: one bus client (ipnbus, or dbus-next on a broker) in one role,
// driven by the runner over the node IPC channel. Run only by the runner.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { BenchClient } from './client.js';
import { sendPaced } from './pace.js';
import { readWorkerArgs, reportToRunner, runWorker, serveRunner } from './worker-side.js';
import { DBUS_NEXT_SIDES, type Command, type Report, type WorkerArgs } from './protocol.js';

const report: (r: Report) => void = reportToRunner;

function cpuUs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** Voluntary + involuntary context switches of this process so far (every thread). */
function switches(): number {
  const u = process.resourceUsage();
  return u.voluntaryContextSwitches + u.involuntaryContextSwitches;
}

async function open(args: WorkerArgs): Promise<BenchClient> {
  // Each side loads only its own client, so neither pays the other's start-up
  // or memory (the member RSS figures compare the two).
  if (DBUS_NEXT_SIDES.includes(args.backend)) {
    const { connectDbusNext } = await import('./client-dbusnext.js');
    return connectDbusNext(args.address, args.backend);
  }
  const { connectIpnbus } = await import('./client-ipnbus.js');
  return connectIpnbus(args.address, args.transport ?? 'auto');
}

/** Subscriber state: what the current round asks for. */
let mode: 'idle' | 'count' | 'latency' = 'idle';
let expect = 0;
let received = 0;
let first = 0n;
let last = 0n;
let samples: number[] = [];
let cpuStart = process.cpuUsage();
let switchesStart = 0;

function finishRound(): void {
  if (mode === 'count') {
    report({ t: 'counted', received, first, last, cpuUs: cpuUs(cpuStart), switches: switches() - switchesStart, rss: process.memoryUsage().rss });
  } else if (mode === 'latency') {
    report({ t: 'latencies', samplesNs: samples, cpuUs: cpuUs(cpuStart) });
  }
  mode = 'idle';
}

function onTick(stamp: bigint): void {
  if (mode === 'idle') return;
  const now = process.hrtime.bigint();
  if (received === 0) first = now;
  last = now;
  received++;
  if (mode === 'latency') samples.push(Number(now - stamp));
  if (received >= expect) finishRound();
}

async function blast(client: BenchClient, count: number, size: number): Promise<void> {
  const payload = 'Z'.repeat(size);
  const cpu = process.cpuUsage();
  const sw = switches();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    client.emitTick(process.hrtime.bigint(), payload);
    // Give the event loop a turn now and then so writes go out while we produce;
    // the same cadence for both clients.
    if ((i & 63) === 63) await yieldToLoop();
  }
  await client.flush();
  report({ t: 'sent', start, end: process.hrtime.bigint(), cpuUs: cpuUs(cpu), switches: switches() - sw, rss: process.memoryUsage().rss });
}

async function paced(client: BenchClient, count: number, rate: number, size: number): Promise<void> {
  const payload = 'Z'.repeat(size);
  const cpu = process.cpuUsage();
  const start = await sendPaced(count, rate, () => client.emitTick(process.hrtime.bigint(), payload));
  await client.flush();
  report({ t: 'sent', start, end: process.hrtime.bigint(), cpuUs: cpuUs(cpu), switches: 0, rss: process.memoryUsage().rss });
}

async function calls(client: BenchClient, count: number, inflight: number, warmup: number): Promise<void> {
  // Warm up JIT and connection state on both sides before measuring.
  for (let i = 0; i < warmup; i++) await client.callEcho('warmup');
  const rtt: number[] = [];
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) {
      next++;
      const t0 = process.hrtime.bigint();
      await client.callEcho('ping');
      rtt.push(Number(process.hrtime.bigint() - t0));
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  report({ t: 'called', rttNs: rtt, elapsedNs: Number(process.hrtime.bigint() - start), cpuUs: cpuUs(cpu) });
}

/** Connection set-up cost: connect (authentication and Hello included) and close, one after the other. */
async function connects(args: WorkerArgs, count: number): Promise<void> {
  const setupNs: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    const c = await open(args);
    setupNs.push(Number(process.hrtime.bigint() - t0));
    c.close();
  }
  report({ t: 'connected', setupNs });
}

/** A subscriber starts counting (or timing) a round. */
function arm(cmd: Extract<Command, { t: 'count' | 'latency' }>): void {
  mode = cmd.t;
  expect = cmd.expect;
  received = 0;
  samples = [];
  cpuStart = process.cpuUsage();
  switchesStart = switches();
  // The runner starts the publisher only after every subscriber says so:
  // the IPC channel and the bus are separate sockets with no order between them.
  report({ t: 'armed' });
}

async function main(): Promise<void> {
  const args = readWorkerArgs<WorkerArgs>('bench worker: run by `ipnbus bench` only');
  const client = await open(args);
  if (args.role === 'sub') await client.subscribe(onTick);
  if (args.role === 'service') await client.serveEcho();
  serveRunner<Command>({
    count: arm,
    latency: arm,
    collect: finishRound,
    blast: (cmd) => blast(client, cmd.count, cmd.size),
    paced: (cmd) => paced(client, cmd.count, cmd.rate, cmd.size),
    calls: (cmd) => calls(client, cmd.count, cmd.inflight, cmd.warmup),
    connects: (cmd) => connects(args, cmd.count),
  }, () => client.close());
}

runWorker(main);
