// In-process micro-benchmark timing (bench/wire.mjs): interleaved rounds of
// several contenders, so load from other processes hits them alike.

/** Median of a non-empty list of numbers. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `fn(n)` runs the operation under test n times. */
export type Batch = (n: number) => void;

/** Grows a batch size until one call takes ~5 ms, running at least `warmupMs` (JIT warm-up). */
function calibrate(fn: Batch, warmupMs: number): number {
  let batch = 1;
  const warmEnd = performance.now() + warmupMs;
  for (;;) {
    const t0 = performance.now();
    fn(batch);
    const dt = performance.now() - t0;
    if (dt < 5) batch *= 2;
    if (performance.now() >= warmEnd && dt >= 5) return batch;
  }
}

/** One timed round of about `roundMs`: operations per second. */
function round(fn: Batch, batch: number, roundMs: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < roundMs) {
    fn(batch);
    n += batch;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

export interface Timing {
  rounds?: number;
  roundMs?: number;
  warmupMs?: number;
}

/**
 * Operations per second of each contender, the median over `rounds` rounds
 * of about `roundMs` after `warmupMs` of warm-up. Rounds are interleaved
 * (A, B, A, B, ...) so that the ratio stays meaningful on a shared machine.
 */
export function compareOpsPerSecond(fns: Record<string, Batch>, { rounds = 5, roundMs = 300, warmupMs = 300 }: Timing = {}): Record<string, { opsPerSec: number; samples: number[] }> {
  const names = Object.keys(fns);
  const batches = new Map(names.map((n) => [n, calibrate(fns[n]!, warmupMs)]));
  const samples = new Map(names.map((n) => [n, [] as number[]]));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) samples.get(n)!.push(round(fns[n]!, batches.get(n)!, roundMs));
  }
  return Object.fromEntries(names.map((n) => [n, { opsPerSec: median(samples.get(n)!), samples: samples.get(n)! }]));
}
