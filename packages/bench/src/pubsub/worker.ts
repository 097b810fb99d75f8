// A pub/sub benchmark worker process: one client of one side, publisher or
// subscriber, driven by the runner over the node IPC channel.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sendPaced } from '../pace.js';
import { readWorkerArgs, reportToRunner, runWorker, serveRunner } from '../worker-side.js';
import { openClient, type PubsubClient } from './clients.js';
import type { PubsubCommand, PubsubReport, PubsubWorkerArgs, SubMode, Usage } from './protocol.js';

/** Byte 8 of a payload: 1 marks a probe of the join handshake, 0 a measured message. */
const PROBE_FLAG = 8;
/** At most this many latency samples go back per round (evenly spread). */
const MAX_SAMPLES = 4000;

const report: (r: PubsubReport) => void = reportToRunner;

function usage(): Usage {
  const u = process.resourceUsage();
  return { cpuUs: u.userCPUTime + u.systemCPUTime, switches: u.voluntaryContextSwitches + u.involuntaryContextSwitches };
}

const readStamp = (b: Uint8Array): bigint => Buffer.prototype.readBigUInt64LE.call(b, 0);

// ---- subscriber --------------------------------------------------------------

let mode: SubMode | 'idle' = 'idle';
let expect = 0;
let received = 0;
let last = 0n;
let latency = new Float64Array(0);

function finishRound(): void {
  if (mode === 'idle') return;
  const n = Math.min(received, latency.length);
  const stride = Math.max(1, Math.ceil(n / MAX_SAMPLES));
  const samples: number[] = [];
  for (let i = 0; i < n; i += stride) samples.push(latency[i]!);
  report({ t: 'counted', received, last, usage: usage(), latencyNs: samples, rss: process.memoryUsage().rss });
  mode = 'idle';
}

function onPayload(p: Uint8Array): void {
  if (mode === 'idle') return;
  const probe = p[PROBE_FLAG] === 1;
  if (probe !== (mode === 'join')) return;
  const now = process.hrtime.bigint();
  if (received < latency.length) latency[received] = Number(now - readStamp(p));
  last = now;
  if (++received >= expect) finishRound();
}

// ---- publisher ---------------------------------------------------------------

/** A fresh buffer per message on every side: ZeroMQ may hold on to what it was given. */
function payload(template: Buffer, probe: boolean): Buffer {
  const b = Buffer.allocUnsafe(template.length);
  template.copy(b);
  b.writeBigUInt64LE(process.hrtime.bigint(), 0);
  b[PROBE_FLAG] = probe ? 1 : 0;
  return b;
}

const template = (size: number) => Buffer.alloc(size, 0x5a);

async function blast(client: PubsubClient, count: number, size: number): Promise<void> {
  const t = template(size);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const r = client.send(payload(t, false));
    if (r) await r;
    // A lossless side whose receiver is full asks to wait: a publisher that
    // wants everything delivered does (ipnbus drops past a per-receiver bound).
    const full = client.whenFull();
    if (full) await full;
    // Give the event loop a turn now and then so writes go out while we
    // produce; the same cadence on every side.
    else if ((i & 63) === 63) await yieldToLoop();
  }
  await client.flush();
  report({ t: 'sent', start, end: process.hrtime.bigint() });
}

async function paced(client: PubsubClient, count: number, rate: number, size: number): Promise<void> {
  const t = template(size);
  const start = await sendPaced(count, rate, () => client.send(payload(t, false)));
  await client.flush();
  report({ t: 'sent', start, end: process.hrtime.bigint() });
}

let probing: { stop: boolean; sent: number } | undefined;

/** Probes every 5 ms until 'stop': ZeroMQ subscriptions reach the publisher asynchronously, so every side proves its path this way. */
async function probe(client: PubsubClient, size: number): Promise<void> {
  const state = { stop: false, sent: 0 };
  probing = state;
  const t = template(size);
  while (!state.stop) {
    const r = client.send(payload(t, true));
    if (r) await r;
    state.sent++;
    await new Promise((r) => setTimeout(r, 5));
  }
  await client.flush();
  report({ t: 'stopped', probes: state.sent });
}

async function main(): Promise<void> {
  const args = readWorkerArgs<PubsubWorkerArgs>('pub/sub bench worker: run by bench/pubsub.mjs only');
  const client = await openClient(args);
  if (args.role === 'sub') await client.subscribe(onPayload);
  serveRunner<PubsubCommand>({
    arm: (cmd) => {
      mode = cmd.mode;
      expect = cmd.expect;
      received = 0;
      if (latency.length < cmd.expect) latency = new Float64Array(cmd.expect);
      // The runner starts the publisher only after every subscriber says so.
      report({ t: 'armed', usage: usage() });
    },
    collect: finishRound,
    usage: () => report({ t: 'usage', usage: usage() }),
    probe: (cmd) => probe(client, cmd.size),
    stop: () => {
      if (probing) probing.stop = true;
    },
    blast: (cmd) => blast(client, cmd.count, cmd.size),
    paced: (cmd) => paced(client, cmd.count, cmd.rate, cmd.size),
  }, () => client.close());
}

runWorker(main);
