// Messages between the benchmark runner and its worker processes (node IPC
// channel, out of band from the bus under test so it never skews the numbers).

export type Backend = 'ipnbus' | 'dbus-daemon' | 'dbus-broker' | 'ipnbus-gateway';

/** The sides whose clients are dbus-next: the two brokers, and `ipnbus gateway` serving stock clients. */
export const DBUS_NEXT_SIDES: readonly Backend[] = ['dbus-daemon', 'dbus-broker', 'ipnbus-gateway'];

export interface WorkerArgs {
  backend: Backend;
  address: string;
  /** ipnbus only: transport backend to create the bus with. */
  transport?: 'auto' | 'kernel' | 'user';
  role: 'sub' | 'pub' | 'service' | 'caller';
}

/** Runner -> worker. */
export type Command =
  | { t: 'count'; expect: number } // sub: count Ticks, report when `expect` arrived
  | { t: 'latency'; expect: number } // sub: record stamp-to-receive latency per Tick
  | { t: 'collect' } // sub: report now, whatever arrived
  | { t: 'blast'; count: number; size: number } // pub: send as fast as the bus takes them
  | { t: 'paced'; count: number; rate: number; size: number } // pub: send at a steady rate
  | { t: 'calls'; count: number; inflight: number; warmup: number } // caller: Echo round trips
  | { t: 'connects'; count: number } // any: open and close `count` connections, one after the other
  | { t: 'exit' };

export interface CpuSample { user: number; system: number }

/** Worker -> runner. */
export type Report =
  | { t: 'ready'; pid: number }
  | { t: 'armed' } // sub: the round's mode is set; Ticks from now on count
  | { t: 'counted'; received: number; first: bigint; last: bigint; cpuUs: number; switches: number; rss: number }
  | { t: 'latencies'; samplesNs: number[]; cpuUs: number }
  | { t: 'sent'; start: bigint; end: bigint; cpuUs: number; switches: number; rss: number }
  | { t: 'connected'; setupNs: number[] }
  | { t: 'called'; rttNs: number[]; elapsedNs: number; cpuUs: number }
  | { t: 'error'; message: string };
