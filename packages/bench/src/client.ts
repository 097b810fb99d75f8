// The one client interface the benchmark workers drive, so ipnbus and
// the brokers (dbus-daemon, dbus-broker) with dbus-next run byte-for-byte the same scenarios.
import type { Backend } from './protocol.js';

/** Names shared by both sides of every scenario. */
export const BENCH_PATH = '/org/ipnbus/Bench';
export const BENCH_IFACE = 'org.ipnbus.Bench';
export const BENCH_SIGNAL = 'Tick';
export const BENCH_SERVICE = 'org.ipnbus.BenchService';
export const BENCH_METHOD = 'Echo';
/**
 * Signal body: hrtime stamp at send, then the payload as a string. Not 'ay':
 * dbus-next marshals byte arrays one element at a time (~0.7 ms of CPU per
 * 4 KiB message), which would measure that client's quirk, not the bus.
 */
export const TICK_SIGNATURE = 'ts';
export const TICK_MATCH = `type='signal',interface='${BENCH_IFACE}',member='${BENCH_SIGNAL}'`;

export interface BenchClient {
  readonly kind: Backend;
  /** Subscribe to Tick signals; resolves once the subscription is in force. */
  subscribe(onTick: (stamp: bigint, payloadLength: number) => void): Promise<void>;
  /** Broadcast one Tick signal. */
  emitTick(stamp: bigint, payload: string): void;
  /** Own BENCH_SERVICE and answer Echo(s) -> s. */
  serveEcho(): Promise<void>;
  /** One Echo round trip to BENCH_SERVICE. */
  callEcho(arg: string): Promise<void>;
  /** Resolves once everything sent so far has left this process. */
  flush(): Promise<void>;
  close(): void;
}
