// The shape of a pub/sub benchmark run (pubsub.json), shared by the runner and the reports.
import type { PubsubMode, PubsubSide } from './config.js';

export interface PubsubCellSide {
  messages: number;
  expected: number;
  /** Of the median round. */
  received: number;
  /** Deliveries missing over every measured round of this cell (0 = nothing lost). */
  lost: number;
  /** Median over the measured rounds. */
  deliveriesPerS: number;
  roundsPerS: number[];
  /** Every process of the side (publisher and subscribers, all their threads), per delivered message. */
  cpuUsPerDelivery: number;
  switchesPerDelivery: number;
  /** Stamp to receive while blasting (queueing included), median round. */
  blastP50Us: number;
  blastP99Us: number;
  /** Stamp to receive at the paced rate, all subscribers' samples. */
  p50Us: number;
  p99Us: number;
  latencyLost: number;
}

export interface PubsubCell {
  subscribers: number;
  payload: 'small' | '4k';
  bytes: number;
  sides: Partial<Record<PubsubSide, PubsubCellSide>>;
  /** publish/subscribe deliveries/s over raw signals', and over ZeroMQ's. */
  pubsubVsSignal: number | null;
  pubsubVsZmq: number | null;
  signalVsZmq: number | null;
  /** publish/subscribe paced latency over ZeroMQ's (below 1: lower). */
  p50VsZmq: number | null;
  p99VsZmq: number | null;
}

export interface PubsubSummary {
  pubsub_vs_signal_min: number | null;
  pubsub_vs_zmq_min: number | null;
  signal_vs_zmq_min: number | null;
  pubsub_p50_vs_zmq_max: number | null;
  pubsub_p99_vs_zmq_max: number | null;
  /** Deliveries lost per side over the whole run (ZeroMQ's are drops despite its high-water marks). */
  lost_publish: number;
  lost_signal: number;
  lost_zmq: number;
}

export interface PubsubResult {
  version: 1;
  date: string;
  mode: PubsubMode;
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; node: string; loadStart: number[]; loadEnd: number[] };
  versions: { zeromq: string; libzmq: string };
  latency: { rate: number; count: number; warmup: number };
  cells: PubsubCell[];
  errors: string[];
  seconds: number;
  summary: PubsubSummary;
}
