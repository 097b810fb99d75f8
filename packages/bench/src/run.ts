// The benchmark runner: the same scenarios against a private dbus-daemon and,
// where it can be launched, a private dbus-broker (both with dbus-next
// clients), and against ipnbus, in one run, plus the C floor.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configFor, messagesFor, type BenchConfig, type Mode, type Transport } from './config.js';
import { startDbusBroker } from './broker.js';
import { procCpuUs, procRss, procSwitches, startDbusDaemon, type PrivateDaemon } from './daemon.js';
import { measureFloor, type FloorResult } from './floor.js';
import { gatewayBusAddress, startGatewayBus } from './gateway-bus.js';
import { measureNodeCallFloor, measureNodeFloor, type NodeCallFloor, type NodeFloor } from './node-floor.js';
import { BenchTimeout, collectAll, startMany, Worker } from './pool.js';
import type { Backend, WorkerArgs } from './protocol.js';
import {
  SIDES, type BenchResult, type CallRow, type FanoutRow, type GatewayResult, type LatencySide, type MemorySide, type Summary,
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

/** Where each side's bus lives for this run, and the processes that are the bus (none for ipnbus). */
type Endpoints = Partial<Record<Backend, { address: string; busPids: number[] }>>;

function countSteps(cfg: BenchConfig, sides: number): number {
  // Per subscriber count: start and warm-up per side, one step per payload
  // (per side when sides run one at a time), latency per side (1 sub only).
  const perK = cfg.subscribers.map((k) => sides * (2 + (k === 1 ? 1 : 0)) + cfg.payloads.length * (k <= 16 ? 1 : sides));
  // The gateway section: start, two sides' start, warm-up and one payload, their calls (stock and native service) and connects.
  const gateway = 1 + 2 * 2 + 1 + 2 * (2 + 2) + 2;
  return perK.reduce((a, b) => a + b, 0) + sides * (1 + cfg.calls.inflight.length) + 3 + gateway;
}

export async function runBench(opts: RunOptions): Promise<BenchResult> {
  const cfg = configFor(opts.mode, opts.transport);
  const started = Date.now();
  const errors: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ipnbus-bench-'));
  const daemon = await startDbusDaemon(dir);
  // dbus-broker is a second baseline where it can be launched; where it
  // cannot, the report says why and the run goes on without it.
  const launched = await startDbusBroker(dir);
  const broker: PrivateDaemon | undefined = launched.ok ? launched.broker : undefined;
  const ends: Endpoints = {
    'dbus-daemon': { address: daemon.address, busPids: daemon.pids },
    ...(broker ? { 'dbus-broker': { address: broker.address, busPids: broker.pids } } : {}),
    ipnbus: { address: `ipnbus:path=${join(dir, 'ipnbus')}`, busPids: [] },
  };
  const sides = SIDES.filter((s) => ends[s] !== undefined);
  const total = countSteps(cfg, sides.length);
  let stepNo = 0;
  const step = (label: string) => opts.onStep?.(label, stepNo++, total);
  const fanout: FanoutRow[] = [];
  const latencySides: Partial<Record<Backend, LatencySide>> = {};
  const memory: Partial<Record<Backend, MemorySide>> = {};
  const calls: CallRow[] = cfg.calls.inflight.map((inflight) => ({ inflight, sides: {}, p50Ratio: null, p50VsBroker: null }));
  let floor: FloorResult | null = null;
  let nodeFloor: NodeFloor | null = null;
  let nodeCallFloor: NodeCallFloor | null = null;
  const gateway: GatewayResult = { fanout: [], calls: [], connect: {} };

  try {
    for (const k of cfg.subscribers) {
      const rows: FanoutRow[] = cfg.payloads.map((p) => ({ subscribers: k, payload: p.name, bytes: p.bytes, sides: {}, ratio: null, vsBroker: null }));
      fanout.push(...rows);
      // Every side alive at once, rounds taking turns; beyond 16 subscribers
      // one side at a time (3 x 64 idle node processes would crowd memory).
      const batches = k <= 16 ? [sides] : sides.map((side) => [side]);
      for (const batch of batches) {
        try {
          await fanoutGroups(cfg, batch, ends, k, rows, errors, step, latencySides, memory);
        } catch (err) {
          errors.push(`fan-out to ${k}: ${firstLine(err)}`);
        }
      }
      for (const row of rows) {
        row.ratio = ratio(row.sides.ipnbus?.deliveriesPerS, row.sides['dbus-daemon']?.deliveriesPerS);
        row.vsBroker = ratio(row.sides.ipnbus?.deliveriesPerS, row.sides['dbus-broker']?.deliveriesPerS);
      }
    }
    await callGroups(cfg, sides, ends, calls, errors, step);
    for (const row of calls) {
      row.p50Ratio = ratio(row.sides.ipnbus?.p50Us, row.sides['dbus-daemon']?.p50Us);
      row.p50VsBroker = ratio(row.sides.ipnbus?.p50Us, row.sides['dbus-broker']?.p50Us);
    }
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
    step('Node.js call floor (node:net AF_UNIX ping-pong)');
    try {
      nodeCallFloor = await measureNodeCallFloor(cfg.calls.count, cfg.warmupCalls);
    } catch (err) {
      errors.push(`Node call floor: ${firstLine(err)}`);
    }
    await gatewaySection(cfg, dir, ends, gateway, errors, step);
  } finally {
    await daemon.stop();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const latency = {
    rate: cfg.latency.rate,
    subscribers: 1,
    sides: latencySides,
    p50Ratio: ratio(latencySides.ipnbus?.p50Us, latencySides['dbus-daemon']?.p50Us),
    p99Ratio: ratio(latencySides.ipnbus?.p99Us, latencySides['dbus-daemon']?.p99Us),
    p50VsBroker: ratio(latencySides.ipnbus?.p50Us, latencySides['dbus-broker']?.p50Us),
    p99VsBroker: ratio(latencySides.ipnbus?.p99Us, latencySides['dbus-broker']?.p99Us),
  };
  const row16 = (payload: string) => fanout.find((r) => r.subscribers === 16 && r.payload === payload);
  const floorRttUs = floor ? floor.pingpong.rtt_p50_ns / 1000 : undefined;
  const cFanout16_4k = floor?.fanout.find((f) => f.receivers === 16 && f.size === 4096)?.deliveries_per_s;
  const ipnCall1 = calls.find((c) => c.inflight === 1)?.sides.ipnbus?.p50Us;
  const gwRow = gateway.fanout[0];
  const gwCall = gateway.calls[0];
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
    fanout16_small_vs_broker: row16('small')?.vsBroker ?? null,
    latency_p50_vs_broker: latency.p50VsBroker,
    call_p50_vs_broker: calls.find((c) => c.inflight === 1)?.p50VsBroker ?? null,
    fanout16_4k_vs_c_floor: ratio(row16('4k')?.sides.ipnbus?.deliveriesPerS, cFanout16_4k),
    fanout64_small_vs_broker: fanout.find((r) => r.subscribers === 64 && r.payload === 'small')?.vsBroker ?? null,
    call_vs_node_floor: ratio(ipnCall1, nodeCallFloor?.p50Us),
    switches16_small_daemon: row16('small')?.sides['dbus-daemon']?.switchesPerDelivery ?? null,
    switches16_small_broker: row16('small')?.sides['dbus-broker']?.switchesPerDelivery ?? null,
    switches16_small_ipnbus: row16('small')?.sides.ipnbus?.switchesPerDelivery ?? null,
    gateway_fanout16_vs_daemon: ratio(gwRow?.sides['ipnbus-gateway']?.deliveriesPerS, gwRow?.sides['dbus-daemon']?.deliveriesPerS),
    gateway_call_p50_vs_daemon: ratio(gwCall?.sides['ipnbus-gateway']?.p50Us, gwCall?.sides['dbus-daemon']?.p50Us),
    gateway_call_native_p50_vs_daemon: gateway.calls[1]?.p50Ratio ?? null,
    gateway_connect_p50_vs_daemon: ratio(gateway.connect['ipnbus-gateway']?.p50Us, gateway.connect['dbus-daemon']?.p50Us),
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
    baselines: {
      dbusDaemon: daemon.version,
      dbusBroker: launched.ok ? launched.broker.version : launched.reason,
      client: 'dbus-next 0.10 (low-level Message API)',
    },
    fanout, latency, calls, memory, floor, nodeFloor: nodeFloor ? { ...nodeFloor, p50Us: round(nodeFloor.p50Us), p99Us: round(nodeFloor.p99Us) } : null,
    nodeCallFloor: nodeCallFloor ? { ...nodeCallFloor, p50Us: round(nodeCallFloor.p50Us), p99Us: round(nodeCallFloor.p99Us) } : null,
    gateway, errors,
    seconds: round((Date.now() - started) / 1000),
    summary,
  };
}

function workerArgs(cfg: BenchConfig, side: Backend, ends: Endpoints, role: WorkerArgs['role']): WorkerArgs {
  return { backend: side, address: ends[side]!.address, transport: cfg.transport, role };
}

/** CPU time of all the bus's processes together. */
const busCpuUs = (pids: number[]) => pids.reduce((a, pid) => a + procCpuUs(pid), 0);
const busSwitches = (pids: number[]) => pids.reduce((a, pid) => a + procSwitches(pid), 0);


/** One fan-out round: blast `messages` Ticks at `subs`; deliveries/s and CPU per delivery. */
async function fanoutRound(cfg: BenchConfig, pub: Worker, subs: Worker[], messages: number, size: number, busPids: number[]) {
  for (const s of subs) s.send({ t: 'count', expect: messages });
  await Promise.all(subs.map((s) => s.next('armed', 10_000)));
  const cpu0 = busCpuUs(busPids);
  const sw0 = busSwitches(busPids);
  pub.send({ t: 'blast', count: messages, size });
  const sent = await pub.next('sent', cfg.roundTimeoutMs);
  const counts = await collectAll(subs, 'counted', { t: 'collect' }, cfg.roundTimeoutMs);
  const busCpu = busCpuUs(busPids) - cpu0;
  const busSw = busSwitches(busPids) - sw0;
  const received = counts.reduce((a, c) => a + c.received, 0);
  const lastNs = counts.reduce((a, c) => (c.last > a ? c.last : a), sent.end);
  const seconds = Number(lastNs - sent.start) / 1e9;
  const cpuUs = busCpu + sent.cpuUs + counts.reduce((a, c) => a + c.cpuUs, 0);
  const sw = busSw + sent.switches + counts.reduce((a, c) => a + c.switches, 0);
  return {
    side: {
      messages,
      expected: messages * subs.length,
      received,
      seconds: round(seconds),
      deliveriesPerS: round(received / seconds),
      roundsPerS: [] as number[],
      cpuUsPerDelivery: round(cpuUs / Math.max(1, received)),
      switchesPerDelivery: round(sw / Math.max(1, received)),
    },
    memberRss: counts.map((c) => c.rss),
  };
}

interface FanoutGroup { subs: Worker[]; pub: Worker; busPids: number[] }

/** Sides taking turns: A B, then B A, ... so a load swing on the machine hits both alike. */
const turn = <T>(items: T[], r: number): T[] => (r % 2 === 0 ? items : [...items].reverse());

/**
 * Fan-out to `k` subscribers for every side in `sides`, their rounds
 * interleaved. A side that fails is reported in `errors` and dropped; the
 * others go on.
 */
async function fanoutGroups(
  cfg: BenchConfig, sides: readonly Backend[], ends: Endpoints, k: number, rows: FanoutRow[], errors: string[],
  step: (label: string) => void, latencySides: Partial<Record<Backend, LatencySide>>, memory: Partial<Record<Backend, MemorySide>>,
): Promise<void> {
  const groups = new Map<Backend, FanoutGroup>();
  const workers: Worker[] = [];
  const fail = (side: Backend, err: unknown) => {
    errors.push(`${side} fan-out to ${k}: ${firstLine(err)}`);
    groups.delete(side);
  };
  try {
    for (const side of sides) {
      step(`${side}: start ${k} subscriber${k > 1 ? 's' : ''} + publisher`);
      try {
        const subs = await startMany(k, workerArgs(cfg, side, ends, 'sub'));
        workers.push(...subs);
        const pub = await Worker.start(workerArgs(cfg, side, ends, 'pub'));
        workers.push(pub);
        groups.set(side, { subs, pub, busPids: ends[side]!.busPids });
      } catch (err) {
        fail(side, err);
      }
    }
    for (const [side, g] of [...groups]) {
      step(`${side}: warm-up, ${k} subscriber${k > 1 ? 's' : ''}`);
      // Every process sees warmupMessages Ticks (a subscriber warms by the
      // messages it handles, not by the group's deliveries), bounded by
      // warmupDeliveries for the largest groups.
      const n = Math.min(cfg.warmupMessages, Math.max(cfg.minMessages, Math.round(cfg.warmupDeliveries / k)));
      await fanoutRound(cfg, g.pub, g.subs, n, 16, g.busPids).catch((err: unknown) => fail(side, err));
    }
    for (const [i, p] of cfg.payloads.entries()) {
      const messages = messagesFor(cfg, p, k);
      const rounds = new Map<Backend, Awaited<ReturnType<typeof fanoutRound>>[]>();
      step(`fan-out ${messages} x ${p.name} to ${k}, ${cfg.repeats} round${cfg.repeats > 1 ? 's' : ''} per side, taking turns`);
      for (let r = 0; r < cfg.repeats; r++) {
        for (const side of turn([...groups.keys()], r)) {
          const g = groups.get(side)!;
          try {
            const got = await fanoutRound(cfg, g.pub, g.subs, messages, p.bytes, g.busPids);
            rounds.set(side, [...(rounds.get(side) ?? []), got]);
          } catch (err) {
            fail(side, err);
          }
        }
      }
      for (const [side, list] of rounds) {
        if (!groups.has(side)) continue;
        // The median round speaks for the row: one lucky or unlucky round does not.
        const sorted = [...list].sort((a, b) => a.side.deliveriesPerS - b.side.deliveriesPerS);
        const { side: median, memberRss } = sorted[Math.floor((sorted.length - 1) / 2)]!;
        rows[i]!.sides[side] = { ...median, roundsPerS: list.map((x) => x.side.deliveriesPerS) };
        if (k === 16 && p.name === 'small') {
          const busPids = groups.get(side)!.busPids;
          memory[side] = {
            busProcessRssKiB: round(busPids.reduce((a, pid) => a + procRss(pid), 0) / 1024),
            memberRssKiBMean: round(memberRss.reduce((a, b) => a + b, 0) / memberRss.length / 1024),
          };
        }
      }
    }
    if (k === 1) {
      for (const [side, g] of [...groups]) {
        try {
          latencySides[side] = await latencyRound(cfg, side, g, step);
        } catch (err) {
          fail(side, err);
        }
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Paced Ticks to one subscriber: stamp-to-receive latency. */
async function latencyRound(cfg: BenchConfig, side: Backend, g: FanoutGroup, step: (label: string) => void): Promise<LatencySide> {
  const { rate, count, warmup } = cfg.latency;
  const sub = g.subs[0]!;
  step(`${side}: latency, ${count} signals at ${rate}/s`);
  sub.send({ t: 'latency', expect: count });
  await sub.next('armed', 10_000);
  g.pub.send({ t: 'paced', count, rate, size: 16 });
  await g.pub.next('sent', cfg.roundTimeoutMs + (count / rate) * 1000);
  let lat;
  try {
    lat = await sub.next('latencies', cfg.roundTimeoutMs);
  } catch (err) {
    if (!(err instanceof BenchTimeout)) throw err;
    sub.send({ t: 'collect' });
    lat = await sub.next('latencies', 10_000);
  }
  const samples = lat.samplesNs.slice(warmup);
  return { n: samples.length, p50Us: round(percentile(samples, 50) / 1000), p99Us: round(percentile(samples, 99) / 1000) };
}

/** Echo calls for every side, the sides taking turns per row; a failing side is reported and dropped. */
async function callGroups(
  cfg: BenchConfig, sides: readonly Backend[], ends: Endpoints, rows: CallRow[], errors: string[], step: (label: string) => void,
  services: Partial<Record<Backend, WorkerArgs>> = {},
): Promise<void> {
  const callers = new Map<Backend, Worker>();
  const workers: Worker[] = [];
  const fail = (side: Backend, err: unknown) => {
    errors.push(`${side} calls: ${firstLine(err)}`);
    callers.delete(side);
  };
  try {
    for (const side of sides) {
      step(`${side}: start echo service + caller`);
      try {
        workers.push(await Worker.start(services[side] ?? workerArgs(cfg, side, ends, 'service')));
        const caller = await Worker.start(workerArgs(cfg, side, ends, 'caller'));
        workers.push(caller);
        callers.set(side, caller);
      } catch (err) {
        fail(side, err);
      }
    }
    for (const [i, row] of rows.entries()) {
      for (const side of turn([...callers.keys()], i)) {
        const caller = callers.get(side)!;
        step(`${side}: ${cfg.calls.count} calls, ${row.inflight} in flight`);
        try {
          caller.send({ t: 'calls', count: cfg.calls.count, inflight: row.inflight, warmup: i === 0 ? cfg.warmupCalls : 0 });
          const r = await caller.next('called', cfg.roundTimeoutMs);
          row.sides[side] = {
            n: r.rttNs.length,
            p50Us: round(percentile(r.rttNs, 50) / 1000),
            p99Us: round(percentile(r.rttNs, 99) / 1000),
            callsPerS: round(r.rttNs.length / (r.elapsedNs / 1e9)),
          };
        } catch (err) {
          fail(side, err);
        }
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/**
 * Stock clients over `ipnbus gateway` against the same clients over
 * dbus-daemon: fan-out to 16 subscribers (small), call p50 (1 in flight) and
 * connection set-up, the two sides taking turns as everywhere else.
 */
async function gatewaySection(cfg: BenchConfig, dir: string, ends: Endpoints, out: GatewayResult, errors: string[], step: (label: string) => void): Promise<void> {
  step('ipnbus gateway: start (dbus-next clients over it)');
  let gw: PrivateDaemon;
  try {
    gw = await startGatewayBus(dir, cfg.transport);
  } catch (err) {
    errors.push(`ipnbus gateway: ${firstLine(err)}`);
    return;
  }
  try {
    const withGw: Endpoints = { ...ends, 'ipnbus-gateway': { address: gw.address, busPids: gw.pids } };
    const sides: Backend[] = ['dbus-daemon', 'ipnbus-gateway'];
    const k = Math.max(...cfg.subscribers.filter((n) => n <= 16));
    const small = cfg.payloads.find((p) => p.name === 'small')!;
    out.fanout = [{ subscribers: k, payload: small.name, bytes: small.bytes, sides: {}, ratio: null, vsBroker: null }];
    try {
      await fanoutGroups({ ...cfg, payloads: [small] }, sides, withGw, k, out.fanout, errors, step, {}, {});
    } catch (err) {
      errors.push(`gateway fan-out to ${k}: ${firstLine(err)}`);
    }
    // Here "ratio" is the gateway over dbus-daemon.
    out.fanout[0]!.ratio = ratio(out.fanout[0]!.sides['ipnbus-gateway']?.deliveriesPerS, out.fanout[0]!.sides['dbus-daemon']?.deliveriesPerS);
    out.calls = [{ inflight: 1, sides: {}, p50Ratio: null, p50VsBroker: null }];
    await callGroups({ ...cfg, calls: { ...cfg.calls, inflight: [1] } }, sides, withGw, out.calls, errors, step);
    out.calls[0]!.p50Ratio = ratio(out.calls[0]!.sides['ipnbus-gateway']?.p50Us, out.calls[0]!.sides['dbus-daemon']?.p50Us);
    // Stock -> native: the same dbus-next caller over the gateway, the Echo
    // service an ipnbus member of the gateway's bus (against dbus-next on
    // both ends over dbus-daemon, as above).
    const native: WorkerArgs = { backend: 'ipnbus', address: gatewayBusAddress(dir), transport: cfg.transport, role: 'service' };
    const toNative: CallRow[] = [{ inflight: 1, sides: {}, p50Ratio: null, p50VsBroker: null }];
    await callGroups({ ...cfg, calls: { ...cfg.calls, inflight: [1] } }, sides, withGw, toNative, errors, step, { 'ipnbus-gateway': native });
    toNative[0]!.p50Ratio = ratio(toNative[0]!.sides['ipnbus-gateway']?.p50Us, toNative[0]!.sides['dbus-daemon']?.p50Us);
    out.calls.push(toNative[0]!);
    for (const side of sides) {
      step(`${side}: ${cfg.connects} connections, one after the other`);
      let w: Worker | undefined;
      try {
        w = await Worker.start(workerArgs(cfg, side, withGw, 'caller'));
        w.send({ t: 'connects', count: cfg.connects });
        const r = await w.next('connected', cfg.roundTimeoutMs);
        out.connect[side] = { n: r.setupNs.length, p50Us: round(percentile(r.setupNs, 50) / 1000), p99Us: round(percentile(r.setupNs, 99) / 1000) };
      } catch (err) {
        errors.push(`${side} connects: ${firstLine(err)}`);
      } finally {
        await w?.stop();
      }
    }
  } finally {
    await gw.stop();
  }
}
