// Messages between the pub/sub benchmark's runner and its worker processes
// (node IPC channel, out of band from the transports under test).
import type { PubsubSide } from './config.js';

export interface PubsubWorkerArgs {
  side: PubsubSide;
  role: 'pub' | 'sub';
  /** ipnbus: the bus address; ZeroMQ: the ipc:// endpoint the publisher binds. */
  address: string;
}

/** Resource use of a whole process (every thread), from process.resourceUsage(). */
export interface Usage {
  cpuUs: number;
  /** Voluntary + involuntary context switches. */
  switches: number;
}

/** What a subscriber counts: probes (the join handshake), every data message, or paced ones for latency. */
export type SubMode = 'join' | 'count' | 'latency';

export type PubsubCommand =
  | { t: 'arm'; mode: SubMode; expect: number } // sub: count from now; reports 'armed'
  | { t: 'collect' } // sub: report now, whatever arrived
  | { t: 'usage' } // any: report resource use so far
  | { t: 'probe'; size: number } // pub: send a probe every few ms until 'stop'
  | { t: 'stop' }
  | { t: 'blast'; count: number; size: number } // pub: send as fast as the transport takes them
  | { t: 'paced'; count: number; rate: number; size: number } // pub: a steady rate
  | { t: 'exit' };

export type PubsubReport =
  | { t: 'ready'; pid: number }
  | { t: 'armed'; usage: Usage }
  | { t: 'counted'; received: number; last: bigint; usage: Usage; latencyNs: number[]; rss: number }
  | { t: 'usage'; usage: Usage }
  | { t: 'stopped'; probes: number }
  | { t: 'sent'; start: bigint; end: bigint }
  | { t: 'error'; message: string };
