// The benchmark runner: the same scenarios against a private dbus-daemon (with
// dbus-next clients) and against ipnbus, in one run, plus the C floor.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, freemem, release, tmpdir, totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configFor, messagesFor, type BenchConfig, type Mode, type Transport } from './config.js';
import { dbusBrokerStatus, procCpuUs, procRss, startDbusDaemon } from './daemon.js';
import { measureFloor, type FloorResult } from './floor.js';
import { measureNodeFloor, type NodeFloor } from './node-floor.js';
import { BenchTimeout, startMany, Worker } from './pool.js';
import type { Backend, WorkerArgs } from './protocol.js';
import {
  SIDES, type BenchResult, type CallRow, type FanoutRow, type LatencySide, type MemorySide, type Summary,
} from './results.js';
import { percentile, ratio, round } from './stats.js';

/** First line of an error: stacks belong in logs, not in reports. */
const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

export interface RunOptions {
  mode: Mode;
  transport: Transport;
  /** Called before each step with a label; total is fixed up front. */
  onStep?: (label: string, index: number, total: number) => void;
}

/** Where each side's bus lives for this run. */
interface Endpoints {
  'dbus-daemon': { address: string; pid: number };
  ipnbus: { address: string };
}

function countSteps(cfg: BenchConfig): number {
  // Per side and subscriber count: start, warm-up, one round per payload, latency (1 sub only).
  const perK = cfg.subscribers.map((k) => 2 + cfg.payloads.length + (k === 1 ? 1 : 0));
  return SIDES.length * (perK.reduce((a, b) => a + b, 0) + 1 + cfg.calls.inflight.length) + 2;
}

export async function runBench(opts: RunOptions): Promise<BenchResult> {
  const cfg = configFor(opts.mode, opts.transport);
  const started = Date.now();
  const total = countSteps(cfg);
  let stepNo = 0;
  const step = (label: string) => opts.onStep?.(label, stepNo++, total);
  const errors: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ipnbus-bench-'));
  const daemon = await startDbusDaemon(dir);
  const ends: Endpoints = {
    'dbus-daemon': { address: daemon.address, pid: daemon.pid },
    ipnbus: { address: `ipnbus:path=${join(dir, 'ipnbus')}` },
  };
  const fanout: FanoutRow[] = [];
  const latencySides: Partial<Record<Backend, LatencySide>> = {};
  const memory: Partial<Record<Backend, MemorySide>> = {};
  const calls: CallRow[] = cfg.calls.inflight.map((inflight) => ({ inflight, sides: {}, p50Ratio: null }));
  let floor: FloorResult | null = null;
  let nodeFloor: NodeFloor | null = null;

  try {
    for (const k of cfg.subscribers) {
      const rows: FanoutRow[] = cfg.payloads.map((p) => ({ subscribers: k, payload: p.name, bytes: p.bytes, sides: {}, ratio: null }));
      fanout.push(...rows);
      for (const side of SIDES) {
        try {
          await fanoutGroup(cfg, side, ends, k, rows, step, latencySides, memory);
        } catch (err) {
          errors.push(`${side} fan-out to ${k}: ${firstLine(err)}`);
        }
      }
      for (const row of rows) row.ratio = ratio(row.sides.ipnbus?.deliveriesPerS, row.sides['dbus-daemon']?.deliveriesPerS);
    }
    for (const side of SIDES) {
      try {
        await callGroup(cfg, side, ends, calls, step);
      } catch (err) {
        errors.push(`${side} calls: ${firstLine(err)}`);
      }
    }
    for (const row of calls) row.p50Ratio = ratio(row.sides.ipnbus?.p50Us, row.sides['dbus-daemon']?.p50Us);
    step('C floor (AF_UNIX SOCK_SEQPACKET)');
    try {
      floor = await measureFloor(dir, {
        iterations: cfg.floor.iterations,
        pacedIterations: Math.min(cfg.latency.count, 1000),
        intervalUs: Math.round(1e6 / cfg.latency.rate),
        receivers: cfg.subscribers.filter((k) => k <= 16),
        messages: cfg.floor.messages,
        sizes: cfg.payloads.map((p) => Math.max(64, p.bytes)),
      });
    } catch (err) {
      errors.push(`C floor: ${firstLine(err)}`);
    }
    step('Node.js floor (node:net AF_UNIX, paced)');
    try {
      nodeFloor = await measureNodeFloor(cfg.latency.rate, cfg.latency.count, cfg.latency.warmup);
    } catch (err) {
      errors.push(`Node floor: ${firstLine(err)}`);
    }
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const latency = {
    rate: cfg.latency.rate,
    subscribers: 1,
    sides: latencySides,
    p50Ratio: ratio(latencySides.ipnbus?.p50Us, latencySides['dbus-daemon']?.p50Us),
    p99Ratio: ratio(latencySides.ipnbus?.p99Us, latencySides['dbus-daemon']?.p99Us),
  };
  const row16 = (payload: string) => fanout.find((r) => r.subscribers === 16 && r.payload === payload);
  const floorRttUs = floor ? floor.pingpong.rtt_p50_ns / 1000 : undefined;
  const summary: Summary = {
    fanout16_small_ratio: row16('small')?.ratio ?? null,
    fanout16_4k_ratio: row16('4k')?.ratio ?? null,
    latency_p50_ratio: latency.p50Ratio,
    latency_p99_ratio: latency.p99Ratio,
    call_p50_ratio: calls.find((c) => c.inflight === 1)?.p50Ratio ?? null,
    call16_p50_ratio: calls.find((c) => c.inflight === 16)?.p50Ratio ?? null,
    cpu_per_delivery_ratio: ratio(row16('small')?.sides.ipnbus?.cpuUsPerDelivery, row16('small')?.sides['dbus-daemon']?.cpuUsPerDelivery),
    call_vs_floor: ratio(calls.find((c) => c.inflight === 1)?.sides.ipnbus?.p50Us, floorRttUs),
    latency_vs_floor: ratio(latencySides.ipnbus?.p50Us, floorRttUs === undefined ? undefined : floorRttUs / 2),
    latency_vs_paced_floor: ratio(latencySides.ipnbus?.p50Us, floor ? floor.pingpongPaced.rtt_p50_ns / 2000 : undefined),
    latency_vs_node_floor: ratio(latencySides.ipnbus?.p50Us, nodeFloor?.p50Us),
  };
  return {
    version: 1,
    date: new Date(started).toISOString(),
    mode: cfg.mode,
    transport: cfg.transport,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memGiB: round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      ipnModuleLoaded: existsSync('/sys/module/ipn'),
    },
    baselines: { dbusDaemon: daemon.version, dbusBroker: dbusBrokerStatus(), client: 'dbus-next 0.10 (low-level Message API)' },
    fanout, latency, calls, memory, floor, nodeFloor: nodeFloor ? { ...nodeFloor, p50Us: round(nodeFloor.p50Us), p99Us: round(nodeFloor.p99Us) } : null, errors,
    seconds: round((Date.now() - started) / 1000),
    summary,
  };
}

function workerArgs(cfg: BenchConfig, side: Backend, ends: Endpoints, role: WorkerArgs['role']): WorkerArgs {
  return { backend: side, address: ends[side].address, transport: cfg.transport, role };
}

const daemonPid = (side: Backend, ends: Endpoints) => (side === 'dbus-daemon' ? ends['dbus-daemon'].pid : undefined);

/** Wait for every subscriber's count; a straggler is asked for what it has after the deadline. */
async function collectCounts(subs: Worker[], timeoutMs: number) {
  return Promise.all(subs.map(async (s) => {
    try {
      return await s.next('counted', timeoutMs);
    } catch (err) {
      if (!(err instanceof BenchTimeout)) throw err;
      s.send({ t: 'collect' });
      return s.next('counted', 10_000);
    }
  }));
}

/** One fan-out round: blast `messages` Ticks at `subs`; deliveries/s and CPU per delivery. */
async function fanoutRound(cfg: BenchConfig, pub: Worker, subs: Worker[], messages: number, size: number, dPid: number | undefined) {
  for (const s of subs) s.send({ t: 'count', expect: messages });
  await Promise.all(subs.map((s) => s.next('armed', 10_000)));
  const cpu0 = dPid ? procCpuUs(dPid) : 0;
  pub.send({ t: 'blast', count: messages, size });
  const sent = await pub.next('sent', cfg.roundTimeoutMs);
  const counts = await collectCounts(subs, cfg.roundTimeoutMs);
  const daemonCpu = dPid ? procCpuUs(dPid) - cpu0 : 0;
  const received = counts.reduce((a, c) => a + c.received, 0);
  const lastNs = counts.reduce((a, c) => (c.last > a ? c.last : a), sent.end);
  const seconds = Number(lastNs - sent.start) / 1e9;
  const cpuUs = daemonCpu + sent.cpuUs + counts.reduce((a, c) => a + c.cpuUs, 0);
  return {
    side: {
      messages,
      expected: messages * subs.length,
      received,
      seconds: round(seconds),
      deliveriesPerS: round(received / seconds),
      roundsPerS: [] as number[],
      cpuUsPerDelivery: round(cpuUs / Math.max(1, received)),
    },
    memberRss: counts.map((c) => c.rss),
  };
}

async function fanoutGroup(
  cfg: BenchConfig, side: Backend, ends: Endpoints, k: number, rows: FanoutRow[],
  step: (label: string) => void, latencySides: Partial<Record<Backend, LatencySide>>, memory: Partial<Record<Backend, MemorySide>>,
): Promise<void> {
  step(`${side}: start ${k} subscriber${k > 1 ? 's' : ''} + publisher`);
  const subs = await startMany(k, workerArgs(cfg, side, ends, 'sub'));
  let pub: Worker | undefined;
  try {
    pub = await Worker.start(workerArgs(cfg, side, ends, 'pub'));
    const dPid = daemonPid(side, ends);
    step(`${side}: warm-up, ${k} subscriber${k > 1 ? 's' : ''}`);
    // Every process sees warmupMessages Ticks, bounded to 64k deliveries for the largest groups.
    await fanoutRound(cfg, pub, subs, Math.min(cfg.warmupMessages, Math.max(cfg.minMessages, Math.round(64_000 / k))), 16, dPid);
    for (const [i, p] of cfg.payloads.entries()) {
      const messages = messagesFor(cfg, p, k);
      step(`${side}: fan-out ${messages} x ${p.name} to ${k}${cfg.repeats > 1 ? `, ${cfg.repeats} rounds` : ''}`);
      const rounds = [];
      for (let r = 0; r < cfg.repeats; r++) rounds.push(await fanoutRound(cfg, pub, subs, messages, p.bytes, dPid));
      // The median round speaks for the row: one lucky or unlucky round does not.
      const sorted = [...rounds].sort((a, b) => a.side.deliveriesPerS - b.side.deliveriesPerS);
      const { side: median, memberRss } = sorted[Math.floor((sorted.length - 1) / 2)]!;
      const result = { ...median, roundsPerS: rounds.map((x) => x.side.deliveriesPerS) };
      rows[i]!.sides[side] = result;
      if (k === 16 && p.name === 'small') {
        memory[side] = {
          busProcessRssKiB: dPid ? round(procRss(dPid) / 1024) : 0,
          memberRssKiBMean: round(memberRss.reduce((a, b) => a + b, 0) / memberRss.length / 1024),
        };
      }
    }
    if (k === 1) {
      const { rate, count, warmup } = cfg.latency;
      step(`${side}: latency, ${count} signals at ${rate}/s`);
      subs[0]!.send({ t: 'latency', expect: count });
      await subs[0]!.next('armed', 10_000);
      pub.send({ t: 'paced', count, rate, size: 16 });
      await pub.next('sent', cfg.roundTimeoutMs + (count / rate) * 1000);
      let lat;
      try {
        lat = await subs[0]!.next('latencies', cfg.roundTimeoutMs);
      } catch (err) {
        if (!(err instanceof BenchTimeout)) throw err;
        subs[0]!.send({ t: 'collect' });
        lat = await subs[0]!.next('latencies', 10_000);
      }
      const samples = lat.samplesNs.slice(warmup);
      latencySides[side] = { n: samples.length, p50Us: round(percentile(samples, 50) / 1000), p99Us: round(percentile(samples, 99) / 1000) };
    }
  } finally {
    await Promise.all([...subs, ...(pub ? [pub] : [])].map((w) => w.stop()));
  }
}

async function callGroup(cfg: BenchConfig, side: Backend, ends: Endpoints, rows: CallRow[], step: (label: string) => void): Promise<void> {
  step(`${side}: start echo service + caller`);
  const service = await Worker.start(workerArgs(cfg, side, ends, 'service'));
  let caller: Worker | undefined;
  try {
    caller = await Worker.start(workerArgs(cfg, side, ends, 'caller'));
    for (const row of rows) {
      step(`${side}: ${cfg.calls.count} calls, ${row.inflight} in flight`);
      caller.send({ t: 'calls', count: cfg.calls.count, inflight: row.inflight, warmup: row === rows[0] ? cfg.warmupCalls : 0 });
      const r = await caller.next('called', cfg.roundTimeoutMs);
      row.sides[side] = {
        n: r.rttNs.length,
        p50Us: round(percentile(r.rttNs, 50) / 1000),
        p99Us: round(percentile(r.rttNs, 99) / 1000),
        callsPerS: round(r.rttNs.length / (r.elapsedNs / 1e9)),
      };
    }
  } finally {
    await Promise.all([service, ...(caller ? [caller] : [])].map((w) => w.stop()));
  }
}

/** Free memory is reported nowhere else; exported for the CLI's machine line. */
export function machineLine(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${round(totalmem() / 2 ** 30)} GiB (${round(freemem() / 2 ** 30)} free), Linux ${release()}, Node ${process.version}`;
}
