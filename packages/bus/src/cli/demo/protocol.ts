// Names and messages shared by the demo's dashboard and its service and subscriber processes.

export const DEMO_SERVICE = 'org.ipnbus.Demo.Clock';
export const DEMO_PATH = '/org/ipnbus/Demo';
export const DEMO_IFACE = 'org.ipnbus.Demo';
/** Broadcast by the service: sequence number and a text. Signature 'ts'. */
export const TICK = 'Tick';
/** Broadcast by every demo process twice a second: role and counters. Signature 'sa{sd}'. */
export const STATS = 'Stats';
/** Method on the service: Add(ii) -> i. */
export const ADD = 'Add';

export const TICK_RULE = `type='signal',interface='${DEMO_IFACE}',member='${TICK}'`;
export const STATS_RULE = `type='signal',interface='${DEMO_IFACE}',member='${STATS}'`;

/** What every demo process counts (totals since it started). */
export interface Counters {
  signalsOut: number;
  signalsIn: number;
  /** Ticks a subscriber never saw (gaps in the sequence numbers). */
  signalsMissed: number;
  callsOut: number;
  callsIn: number;
  callErrors: number;
}

export const zeroCounters = (): Counters => ({
  signalsOut: 0, signalsIn: 0, signalsMissed: 0, callsOut: 0, callsIn: 0, callErrors: 0,
});

export interface ChildArgs {
  role: 'service' | 'subscriber';
  label: string;
  address: string;
  /** service: Ticks per second; subscriber: calls per second. */
  rate: number;
}

/** Child -> dashboard over the IPC channel (live figures travel over the bus itself). */
export type ChildReport =
  | { t: 'ready'; uniqueName: string; pid: number }
  | { t: 'final'; uniqueName: string; counters: Counters; seconds: number }
  | { t: 'error'; message: string };
