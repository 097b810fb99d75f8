// How much each benchmark mode measures: full (the published run), quick (< 2 min), smoke (tests).

export type Mode = 'full' | 'quick' | 'smoke';
export type Transport = 'auto' | 'kernel' | 'user';

/** One payload size a benchmark sends (both benchmarks send these two). */
export interface PayloadSpec {
  name: 'small' | '4k';
  /** Payload bytes (ipnbus bench: in the Tick's string, the stamp and header on top; pubsub: the stamp included). */
  bytes: number;
  /** Total deliveries per round; messages = deliveries / subscribers, clamped. */
  deliveries: number;
}

/** The small (16-byte) payload with `small` deliveries a round, and the 4 KiB one with `big` when given. */
export function payloads(small: number, big?: number): PayloadSpec[] {
  const out: PayloadSpec[] = [{ name: 'small', bytes: 16, deliveries: small }];
  if (big !== undefined) out.push({ name: '4k', bytes: 4096, deliveries: big });
  return out;
}

/** Messages a round sends to `subscribers`: the payload's deliveries spread over them, within the mode's bounds. */
export function messagesFor(cfg: { minMessages: number; maxMessages: number }, p: PayloadSpec, subscribers: number): number {
  return Math.max(cfg.minMessages, Math.min(cfg.maxMessages, Math.round(p.deliveries / subscribers)));
}

export interface BenchConfig {
  mode: Mode;
  transport: Transport;
  subscribers: number[];
  payloads: PayloadSpec[];
  minMessages: number;
  maxMessages: number;
  latency: { rate: number; count: number; warmup: number };
  calls: { inflight: number[]; count: number };
  floor: { iterations: number; messages: number };
  /**
   * Unmeasured Ticks sent first in every fan-out group: JIT and buffers warm
   * on both sides. Counted per subscriber process, because warming is: an
   * ipnbus subscriber spends 2-5x its steady CPU per message over its first
   * ~10,000 messages (the optimising compiler at work on a loaded 2-core
   * machine), whatever the group's size.
   */
  warmupMessages: number;
  /** Bound on the warm-up's deliveries (messages x subscribers), so the largest groups stay short. */
  warmupDeliveries: number;
  /** Measured rounds per fan-out row; the median (by deliveries/s) is reported. */
  repeats: number;
  /**
   * Unmeasured Echo calls before the call rounds, on every side and for the
   * Node.js call floor. A fresh caller's p50 (user backend, one call in
   * flight) is ~2x its warm figure for its first ~6,000 calls, while the JIT
   * still compiles (per 2,000 calls: 88, 52, 50, then 45-49 us; 92, 76, 108,
   * then 45-49): the rounds are meant to measure warm processes, as a
   * session service is.
   */
  warmupCalls: number;
  /** Longest wait for one fan-out round before collecting what arrived. */
  roundTimeoutMs: number;
  /** Connections opened and closed one after the other per side, for the set-up cost. */
  connects: number;
}

export function configFor(mode: Mode, transport: Transport): BenchConfig {
  switch (mode) {
    case 'full':
      return {
        mode, transport,
        subscribers: [1, 4, 16, 64],
        payloads: payloads(64_000, 16_000),
        minMessages: 1000, maxMessages: 20_000,
        latency: { rate: 200, count: 1000, warmup: 20 },
        calls: { inflight: [1, 16], count: 4000 },
        floor: { iterations: 20_000, messages: 20_000 },
        warmupMessages: 16_000, warmupDeliveries: 256_000, repeats: 3, warmupCalls: 10_000,
        roundTimeoutMs: 90_000, connects: 200,
      };
    case 'quick':
      return {
        mode, transport,
        subscribers: [1, 16],
        payloads: payloads(24_000, 8000),
        minMessages: 500, maxMessages: 8000,
        latency: { rate: 200, count: 400, warmup: 20 },
        calls: { inflight: [1, 16], count: 1500 },
        floor: { iterations: 5000, messages: 5000 },
        warmupMessages: 12_000, warmupDeliveries: 192_000, repeats: 3, warmupCalls: 6000,
        roundTimeoutMs: 30_000, connects: 100,
      };
    case 'smoke':
      return {
        mode, transport,
        subscribers: [1, 16],
        payloads: payloads(3200),
        minMessages: 200, maxMessages: 1000,
        latency: { rate: 200, count: 100, warmup: 10 },
        calls: { inflight: [1, 16], count: 300 },
        floor: { iterations: 1000, messages: 1000 },
        warmupMessages: 300, warmupDeliveries: 64_000, repeats: 1, warmupCalls: 50,
        roundTimeoutMs: 20_000, connects: 10,
      };
  }
}
