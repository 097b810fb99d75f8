// The paced send loop of every bench worker: the i-th send is due at start + i / rate seconds; one that is late goes at once.

/**
 * Calls `send` `count` times at `rate` per second from now, awaiting what
 * it returns (a side that must not be called again before it settles).
 * Resolves with the start (process.hrtime.bigint()).
 */
export async function sendPaced(count: number, rate: number, send: () => void | Promise<void>): Promise<bigint> {
  const intervalNs = 1e9 / rate;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const waitMs = Number(start + BigInt(Math.round(i * intervalNs)) - process.hrtime.bigint()) / 1e6;
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    const r = send();
    if (r) await r;
  }
  return start;
}
