// The pub/sub benchmark runner: ipnbus publish/subscribe, ipnbus raw signals
// and ZeroMQ PUB/SUB over ipc://, the same payloads and process layout, in one
// run, the sides taking turns round by round.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { collectAll, startMany, Worker } from '../pool.js';
import { percentile, ratio, round } from '../stats.js';
import { messagesFor } from '../config.js';
import { PUBSUB_SIDES, pubsubConfig, type PubsubConfig, type PubsubMode, type PubsubSide } from './config.js';
import type { PubsubCommand, PubsubReport, Usage } from './protocol.js';
import type { PubsubCell, PubsubCellSide, PubsubResult } from './results.js';

const WORKER = new URL('./worker.js', import.meta.url);
type PWorker = Worker<PubsubCommand, PubsubReport>;

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

export interface PubsubRunOptions {
  mode: PubsubMode;
  onStep?: (label: string, index: number, total: number) => void;
}

interface Group { side: PubsubSide; pub: PWorker; subs: PWorker[] }

interface Round {
  received: number;
  expected: number;
  deliveriesPerS: number;
  cpuUs: number;
  switches: number;
  latencyNs: number[];
}

const add = (a: Usage, b: Usage, sign = 1): Usage => ({ cpuUs: a.cpuUs + sign * b.cpuUs, switches: a.switches + sign * b.switches });
const ZERO: Usage = { cpuUs: 0, switches: 0 };

async function pubUsage(pub: PWorker): Promise<Usage> {
  pub.send({ t: 'usage' });
  return (await pub.next('usage', 10_000)).usage;
}


/**
 * One round: every subscriber armed (it says so), then the publisher sends;
 * the round ends when every subscriber has all of it (or the deadline).
 * CPU and context switches are the deltas of every process of the side.
 */
async function round1(cfg: PubsubConfig, g: Group, kind: 'blast' | 'paced', messages: number, size: number): Promise<Round> {
  for (const s of g.subs) s.send({ t: 'arm', mode: kind === 'blast' ? 'count' : 'latency', expect: messages });
  const armed = await Promise.all(g.subs.map((s) => s.next('armed', 10_000)));
  const before = armed.reduce((a, r) => add(a, r.usage), await pubUsage(g.pub));
  if (kind === 'blast') g.pub.send({ t: 'blast', count: messages, size });
  else g.pub.send({ t: 'paced', count: messages, rate: cfg.latency.rate, size });
  const pacedMs = kind === 'paced' ? (messages / cfg.latency.rate) * 1000 : 0;
  const sent = await g.pub.next('sent', cfg.roundTimeoutMs + pacedMs);
  const counts = await collectAll(g.subs, 'counted', { t: 'collect' }, cfg.roundTimeoutMs);
  const after = counts.reduce((a, c) => add(a, c.usage), await pubUsage(g.pub));
  const used = add(after, before, -1);
  const received = counts.reduce((a, c) => a + c.received, 0);
  const lastNs = counts.reduce((a, c) => (c.last > a ? c.last : a), sent.end);
  return {
    received,
    expected: messages * g.subs.length,
    deliveriesPerS: received / (Number(lastNs - sent.start) / 1e9),
    cpuUs: used.cpuUs,
    switches: used.switches,
    // A paced round's first messages per subscriber are its warm-up (they wake cold processes).
    latencyNs: counts.flatMap((c) => (kind === 'paced' ? c.latencyNs.slice(cfg.latency.warmup) : c.latencyNs)),
  };
}

/** Probes until every subscriber has one: its subscription is known to reach the publisher. */
async function joinGroup(g: Group): Promise<void> {
  for (const s of g.subs) s.send({ t: 'arm', mode: 'join', expect: 1 });
  await Promise.all(g.subs.map((s) => s.next('armed', 10_000)));
  g.pub.send({ t: 'probe', size: 16 });
  try {
    await Promise.all(g.subs.map((s) => s.next('counted', 30_000)));
  } finally {
    g.pub.send({ t: 'stop' });
    await g.pub.next('stopped', 10_000);
  }
}

async function startGroup(side: PubsubSide, address: string, k: number): Promise<Group> {
  // ZeroMQ's publisher binds, so it starts first; ipnbus members join in any order.
  const pub = await Worker.start<PubsubCommand, PubsubReport>({ side, role: 'pub', address }, 120_000, WORKER);
  try {
    const subs = await startMany<PubsubCommand, PubsubReport>(k, { side, role: 'sub', address }, 8, WORKER);
    return { side, pub, subs };
  } catch (err) {
    await pub.stop();
    throw err;
  }
}

/** Sides taking turns: A B C, then C B A, ... so a load swing hits all alike. */
const turn = <T>(items: T[], r: number): T[] => (r % 2 === 0 ? items : [...items].reverse());

function countSteps(cfg: PubsubConfig): number {
  return cfg.subscribers.length * (PUBSUB_SIDES.length * 2 + cfg.payloads.length * 2);
}

export async function runPubsub(opts: PubsubRunOptions): Promise<PubsubResult> {
  const cfg = pubsubConfig(opts.mode);
  const started = Date.now();
  const loadStart = loadavg().map((x) => round(x));
  const errors: string[] = [];
  const cells: PubsubCell[] = [];
  const total = countSteps(cfg);
  let stepNo = 0;
  const step = (label: string) => opts.onStep?.(label, stepNo++, total);
  const dir = await mkdtemp(join(tmpdir(), 'ipnbus-pubsub-bench-'));
  let gen = 0;
  const addressOf = (side: PubsubSide) => (side === 'zmq' ? `ipc://${join(dir, `zmq-${++gen}.sock`)}` : `ipnbus:path=${join(dir, `${side}-${++gen}`)}`);
  try {
    for (const k of cfg.subscribers) {
      const groups = new Map<PubsubSide, Group>();
      const fail = (side: PubsubSide, err: unknown) => {
        errors.push(`${side}, ${k} subscriber(s): ${firstLine(err)}`);
        const g = groups.get(side);
        groups.delete(side);
        if (g) void Promise.all([g.pub, ...g.subs].map((w) => w.stop()));
      };
      try {
        for (const side of PUBSUB_SIDES) {
          step(`${side}: start ${k} subscriber(s) + publisher, join`);
          try {
            const g = await startGroup(side, addressOf(side), k);
            groups.set(side, g);
            await joinGroup(g);
          } catch (err) {
            fail(side, err);
          }
        }
        for (const side of PUBSUB_SIDES) {
          const g = groups.get(side);
          if (!g) continue;
          step(`${side}: warm-up, ${k} subscriber(s)`);
          await round1(cfg, g, 'blast', cfg.warmupMessages, 16).catch((err: unknown) => fail(side, err));
        }
        for (const p of cfg.payloads) {
          const messages = messagesFor(cfg, p, k);
          const cell: PubsubCell = { subscribers: k, payload: p.name, bytes: p.bytes, sides: {}, pubsubVsSignal: null, pubsubVsZmq: null, signalVsZmq: null, p50VsZmq: null, p99VsZmq: null };
          cells.push(cell);
          const rounds = new Map<PubsubSide, Round[]>();
          step(`blast ${messages} x ${p.name} to ${k}, ${cfg.repeats} round(s) per side, taking turns`);
          for (let r = 0; r < cfg.repeats; r++) {
            for (const side of turn([...groups.keys()], r)) {
              try {
                const got = await round1(cfg, groups.get(side)!, 'blast', messages, p.bytes);
                rounds.set(side, [...(rounds.get(side) ?? []), got]);
              } catch (err) {
                fail(side, err);
              }
            }
          }
          step(`latency, ${cfg.latency.count} x ${p.name} at ${cfg.latency.rate}/s to ${k}, taking turns`);
          const paced = new Map<PubsubSide, Round>();
          for (const side of turn([...groups.keys()], cfg.repeats)) {
            try {
              paced.set(side, await round1(cfg, groups.get(side)!, 'paced', cfg.latency.count, p.bytes));
            } catch (err) {
              fail(side, err);
            }
          }
          for (const [side, list] of rounds) {
            const lat = paced.get(side);
            if (!groups.has(side) || !lat) continue;
            cell.sides[side] = cellSide(list, lat, messages);
          }
          const s = cell.sides;
          cell.pubsubVsSignal = ratio(s.publish?.deliveriesPerS, s.signal?.deliveriesPerS);
          cell.pubsubVsZmq = ratio(s.publish?.deliveriesPerS, s.zmq?.deliveriesPerS);
          cell.signalVsZmq = ratio(s.signal?.deliveriesPerS, s.zmq?.deliveriesPerS);
          cell.p50VsZmq = ratio(s.publish?.p50Us, s.zmq?.p50Us);
          cell.p99VsZmq = ratio(s.publish?.p99Us, s.zmq?.p99Us);
        }
      } finally {
        await Promise.all([...groups.values()].flatMap((g) => [g.pub, ...g.subs]).map((w) => w.stop()));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const libzmq = await import('zeromq').then((z) => String(z.version)).catch((err: unknown) => `not loadable: ${firstLine(err)}`);
  const minOf = (f: (c: PubsubCell) => number | null, max = false) => {
    const v = cells.map(f).filter((x): x is number => x !== null);
    return v.length === cells.length && v.length > 0 ? (max ? Math.max(...v) : Math.min(...v)) : null;
  };
  const lostOf = (side: PubsubSide) => cells.reduce((a, c) => a + (c.sides[side]?.lost ?? 0) + (c.sides[side]?.latencyLost ?? 0), 0);
  return {
    version: 1,
    date: new Date(started).toISOString(),
    mode: cfg.mode,
    machine: {
      cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memGiB: round(totalmem() / 2 ** 30),
      kernel: release(), node: process.version, loadStart, loadEnd: loadavg().map((x) => round(x)),
    },
    versions: { zeromq: await zeromqPackageVersion(), libzmq },
    latency: cfg.latency,
    cells,
    errors,
    seconds: round((Date.now() - started) / 1000),
    summary: {
      // A minimum over some cells only would flatter: null unless every cell has its figure.
      pubsub_vs_signal_min: minOf((c) => c.pubsubVsSignal),
      pubsub_vs_zmq_min: minOf((c) => c.pubsubVsZmq),
      signal_vs_zmq_min: minOf((c) => c.signalVsZmq),
      pubsub_p50_vs_zmq_max: minOf((c) => c.p50VsZmq, true),
      pubsub_p99_vs_zmq_max: minOf((c) => c.p99VsZmq, true),
      lost_publish: lostOf('publish'),
      lost_signal: lostOf('signal'),
      lost_zmq: lostOf('zmq'),
    },
  };
}

async function zeromqPackageVersion(): Promise<string> {
  try {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    return (req('zeromq/package.json') as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function cellSide(list: Round[], lat: Round, messages: number): PubsubCellSide {
  const sorted = [...list].sort((a, b) => a.deliveriesPerS - b.deliveriesPerS);
  const med = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const samples = lat.latencyNs;
  return {
    messages,
    expected: med.expected,
    received: med.received,
    lost: list.reduce((a, r) => a + (r.expected - r.received), 0),
    deliveriesPerS: round(med.deliveriesPerS),
    roundsPerS: list.map((r) => round(r.deliveriesPerS)),
    cpuUsPerDelivery: round(med.cpuUs / Math.max(1, med.received)),
    switchesPerDelivery: round(med.switches / Math.max(1, med.received)),
    blastP50Us: round(percentile(med.latencyNs, 50) / 1000),
    blastP99Us: round(percentile(med.latencyNs, 99) / 1000),
    p50Us: round(percentile(samples, 50) / 1000),
    p99Us: round(percentile(samples, 99) / 1000),
    latencyLost: lat.expected - lat.received,
  };
}
