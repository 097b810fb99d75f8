// The shape of a benchmark run's results (bench.json), shared by the runner and the reports.
import type { Mode, Transport } from './config.js';
import type { FloorResult } from './floor.js';
import type { NodeFloor } from './node-floor.js';
import type { Backend } from './protocol.js';

/** Every side a run can have, in report order; dbus-broker only where it can be launched. */
export const SIDES: readonly Backend[] = ['dbus-daemon', 'dbus-broker', 'ipnbus'];

export interface FanoutSide {
  messages: number;
  expected: number;
  received: number;
  seconds: number;
  /** Median over the measured rounds. */
  deliveriesPerS: number;
  /** Every measured round, in order. */
  roundsPerS: number[];
  /** CPU of every process involved (the bus processes included), per delivered message. */
  cpuUsPerDelivery: number;
}

export interface FanoutRow {
  subscribers: number;
  payload: 'small' | '4k';
  bytes: number;
  sides: Partial<Record<Backend, FanoutSide>>;
  /** ipnbus deliveries/s over dbus-daemon's: above 1 is better. */
  ratio: number | null;
  /** ipnbus deliveries/s over dbus-broker's; null when dbus-broker was not measured. */
  vsBroker: number | null;
}

export interface LatencySide { n: number; p50Us: number; p99Us: number }

export interface CallSide { n: number; p50Us: number; p99Us: number; callsPerS: number }

export interface CallRow {
  inflight: number;
  sides: Partial<Record<Backend, CallSide>>;
  /** ipnbus p50 over dbus-daemon's: below 1 is better. */
  p50Ratio: number | null;
  /** ipnbus p50 over dbus-broker's. */
  p50VsBroker: number | null;
}

export interface MemorySide {
  /** The bus's RSS (dbus-daemon; dbus-broker-launch + dbus-broker); 0 for ipnbus, which has none. */
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
  /** The same figures against dbus-broker (null when it was not measured). */
  fanout16_small_vs_broker: number | null;
  latency_p50_vs_broker: number | null;
  call_p50_vs_broker: number | null;
}

export interface BenchResult {
  version: 1;
  date: string;
  mode: Mode;
  transport: Transport;
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; node: string; ipnModuleLoaded: boolean };
  /** dbusBroker: its version and how it was launched, or why it was not measured. */
  baselines: { dbusDaemon: string; dbusBroker: string; client: string };
  fanout: FanoutRow[];
  latency: {
    rate: number;
    subscribers: number;
    sides: Partial<Record<Backend, LatencySide>>;
    p50Ratio: number | null;
    p99Ratio: number | null;
    p50VsBroker: number | null;
    p99VsBroker: number | null;
  };
  calls: CallRow[];
  memory: Partial<Record<Backend, MemorySide>>;
  floor: FloorResult | null;
  nodeFloor: NodeFloor | null;
  errors: string[];
  seconds: number;
  summary: Summary;
}

/**
 * The fan-out target (16 subscribers, small) for the transport this run
 * measured: 10x on AF_IPN, where one send reaches every member, 5x on the
 * user backend, which sends once per receiver.
 */
export function fanoutTarget(r: Pick<BenchResult, 'transport' | 'machine'>): number {
  return r.transport === 'kernel' || (r.transport === 'auto' && r.machine.ipnModuleLoaded) ? 10 : 5;
}
