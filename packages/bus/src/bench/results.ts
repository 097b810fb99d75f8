// The shape of a benchmark run's results (bench.json), shared by the runner and the reports.
import type { Mode, Transport } from './config.js';
import type { FloorResult } from './floor.js';
import type { NodeFloor } from './node-floor.js';
import type { Backend } from './protocol.js';

export const SIDES: readonly Backend[] = ['dbus-daemon', 'ipnbus'];

export interface FanoutSide {
  messages: number;
  expected: number;
  received: number;
  seconds: number;
  /** Median over the measured rounds. */
  deliveriesPerS: number;
  /** Every measured round, in order. */
  roundsPerS: number[];
  /** CPU of every process involved (daemon included), per delivered message. */
  cpuUsPerDelivery: number;
}

export interface FanoutRow {
  subscribers: number;
  payload: 'small' | '4k';
  bytes: number;
  sides: Partial<Record<Backend, FanoutSide>>;
  /** ipnbus deliveries/s over dbus-daemon's: above 1 is better. */
  ratio: number | null;
}

export interface LatencySide { n: number; p50Us: number; p99Us: number }

export interface CallSide { n: number; p50Us: number; p99Us: number; callsPerS: number }

export interface CallRow { inflight: number; sides: Partial<Record<Backend, CallSide>>; p50Ratio: number | null }

export interface MemorySide {
  /** The broker's RSS (dbus-daemon); 0 for ipnbus, which has none. */
  busProcessRssKiB: number;
  /** Mean RSS of one subscriber process in the 16-subscriber fan-out. */
  memberRssKiBMean: number;
}

export interface Summary {
  fanout16_small_ratio: number | null;
  fanout16_4k_ratio: number | null;
  latency_p50_ratio: number | null;
  latency_p99_ratio: number | null;
  call_p50_ratio: number | null;
  call16_p50_ratio: number | null;
  cpu_per_delivery_ratio: number | null;
  call_vs_floor: number | null;
  latency_vs_floor: number | null;
  /** Against half the C round trip at the same pace (both sides wake from idle). */
  latency_vs_paced_floor: number | null;
  /** Against a paced node:net write -> read between two Node processes: any Node client's floor. */
  latency_vs_node_floor: number | null;
}

export interface BenchResult {
  version: 1;
  date: string;
  mode: Mode;
  transport: Transport;
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; node: string; ipnModuleLoaded: boolean };
  baselines: { dbusDaemon: string; dbusBroker: string; client: string };
  fanout: FanoutRow[];
  latency: { rate: number; subscribers: number; sides: Partial<Record<Backend, LatencySide>>; p50Ratio: number | null; p99Ratio: number | null };
  calls: CallRow[];
  memory: Partial<Record<Backend, MemorySide>>;
  floor: FloorResult | null;
  nodeFloor: NodeFloor | null;
  errors: string[];
  seconds: number;
  summary: Summary;
}
