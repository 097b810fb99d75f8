// How much the pub/sub benchmark measures per mode: full (the published run),
// quick (a minute or two), smoke (the test suite: seconds).
import { payloads, type PayloadSpec } from '../config.js';
export type PubsubMode = 'full' | 'quick' | 'smoke';

/** The three sides, in report order. */
export const PUBSUB_SIDES = ['publish', 'signal', 'zmq'] as const;
export type PubsubSide = (typeof PUBSUB_SIDES)[number];

export const SIDE_LABEL: Record<PubsubSide, string> = {
  publish: 'ipnbus publish/subscribe',
  signal: 'ipnbus raw signals',
  zmq: 'ZeroMQ PUB/SUB (ipc://)',
};

/** Bytes of every message's payload: the 8-byte stamp and the probe flag included. */
export type PubsubPayload = PayloadSpec;

export interface PubsubConfig {
  mode: PubsubMode;
  subscribers: number[];
  payloads: PubsubPayload[];
  minMessages: number;
  maxMessages: number;
  /** Measured blast rounds per cell and side; the median (deliveries/s) is reported. */
  repeats: number;
  /**
   * Unmeasured messages per group before its first round (JIT, buffers):
   * a subscriber process warms by the messages it handles (an ipnbus one
   * pays 2-5x its steady CPU per message over the first ~10,000), so this
   * does not shrink with the group's size. A publish/subscribe subscriber
   * has a few more functions to compile than a raw-signal one: with 16 of
   * them on 2 cores it still paid ~2x its steady cost per message after
   * 16,000 messages and was warm after ~32,000 (raw signals: ~16,000).
   */
  warmupMessages: number;
  /** Paced latency round per cell and side: `count` messages at `rate`/s, the first `warmup` dropped. */
  latency: { rate: number; count: number; warmup: number };
  roundTimeoutMs: number;
}

export function pubsubConfig(mode: PubsubMode): PubsubConfig {
  switch (mode) {
    case 'full':
      return {
        mode, subscribers: [1, 4, 16],
        payloads: payloads(64_000, 24_000),
        minMessages: 1500, maxMessages: 20_000, repeats: 3, warmupMessages: 32_000,
        latency: { rate: 500, count: 500, warmup: 50 }, roundTimeoutMs: 90_000,
      };
    case 'quick':
      return {
        mode, subscribers: [1, 4, 16],
        payloads: payloads(24_000, 8000),
        minMessages: 500, maxMessages: 8000, repeats: 3, warmupMessages: 16_000,
        latency: { rate: 500, count: 200, warmup: 20 }, roundTimeoutMs: 30_000,
      };
    case 'smoke':
      return {
        mode, subscribers: [1, 4],
        payloads: payloads(800, 400),
        minMessages: 100, maxMessages: 400, repeats: 1, warmupMessages: 100,
        latency: { rate: 500, count: 40, warmup: 5 }, roundTimeoutMs: 20_000,
      };
  }
}
