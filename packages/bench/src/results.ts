// The shape of a benchmark run's results (bench.json), shared by the runner and the reports.
import type { Mode, Transport } from './config.js';
import type { FloorResult } from './floor.js';
import type { NodeCallFloor, NodeFloor } from './node-floor.js';
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
  /** Voluntary + involuntary context switches of the same processes (every thread), per delivered message. */
  switchesPerDelivery: number;
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
  /** ipnbus deliveries/s at 16 subscribers, 4 KiB, over the C one-send-per-receiver fan-out of the same run. */
  fanout16_4k_vs_c_floor: number | null;
  fanout64_small_vs_broker: number | null;
  /** ipnbus call p50 (1 in flight) over a node:net ping-pong between two Node processes. */
  call_vs_node_floor: number | null;
  /** Context switches per delivery, 16 subscribers, small, every process of the side. */
  switches16_small_daemon: number | null;
  switches16_small_broker: number | null;
  switches16_small_ipnbus: number | null;
  /** `ipnbus gateway` with dbus-next clients over dbus-daemon with the same clients (null when not measured). */
  gateway_fanout16_vs_daemon: number | null;
  gateway_call_p50_vs_daemon: number | null;
  /** The same dbus-next caller over the gateway to an Echo service that is an ipnbus member (stock -> native), over dbus-next on both ends over dbus-daemon. */
  gateway_call_native_p50_vs_daemon: number | null;
  gateway_connect_p50_vs_daemon: number | null;
}

/** Connection set-up: connect, authenticate, Hello, close; one after the other. */
export interface ConnectSide { n: number; p50Us: number; p99Us: number }

/** Stock clients (dbus-next) over `ipnbus gateway` against the same clients over dbus-daemon, same run. */
export interface GatewayResult {
  fanout: FanoutRow[];
  calls: CallRow[];
  connect: Partial<Record<Backend, ConnectSide>>;
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
  nodeCallFloor: NodeCallFloor | null;
  gateway: GatewayResult;
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
