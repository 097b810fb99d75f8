// How much longer than on a host every wait of the benchmark may take.

/**
 * IPNBUS_BENCH_TIME_SCALE (default 1) stretches every timeout: inside the
 * test VM under TCG, where Node runs some 30 times slower, a worker takes
 * seconds just to load its modules. It changes no measurement, only how long
 * the runner waits before calling a side failed.
 */
export function timeScale(): number {
  const raw = process.env.IPNBUS_BENCH_TIME_SCALE;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 1 || n > 1000) {
    throw new Error(`IPNBUS_BENCH_TIME_SCALE must be a number from 1 to 1000, got '${raw}'`);
  }
  return n;
}

/** `ms` stretched by the time scale. */
export const scaledMs = (ms: number): number => Math.round(ms * timeScale());
