// Coalescing across turns: a sender that broadcasts turn after turn batches
// the first message of each next turn too. The policy (turn.ts) is the same
// for both backends; it is proven by sub-millisecond gaps between turns,
// which TCG's emulation stretches, so this file runs on the host only.
// The policy's clock itself (TurnTracker) is tested here too, without a
// network: gaps made by spinning on the clock.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { TurnTracker } from '../src/turn.js';
import { BACKEND } from './member.js';
import { collect, pairsPerTest, text } from './pair.js';

const pair = pairsPerTest('coalesce-stream');

describe(`coalescing across turns (${BACKEND} backend)`, () => {
  it('a streaming sender batches the first broadcast of the next turn too', async () => {
    const [a, b] = await pair();
    const got = collect(b, 100);
    // Turn after turn (setImmediate): only the very first message leaves
    // alone. A loaded machine may stretch one gap past the streaming
    // threshold, so five tries; one fully batched second turn is the proof.
    let proven = false;
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setTimeout(r, 5));
      const before = a.batchedMessages;
      for (let i = 0; i < 10; i++) a.broadcast(Buffer.from(`s${k * 20 + i}`));
      await new Promise((r) => setImmediate(r));
      const mid = a.batchedMessages;
      for (let i = 10; i < 20; i++) a.broadcast(Buffer.from(`s${k * 20 + i}`));
      await new Promise((r) => setImmediate(r));
      expect(mid - before).toBe(9);
      if (a.batchedMessages - mid === 10) proven = true;
    }
    expect(proven).toBe(true);
    expect((await got).map(text)).toEqual(Array.from({ length: 100 }, (_, i) => `s${i}`));
  });

});

const endOfTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Busy for `ms`, then true if no more than `max` ms passed (not stretched by the scheduler). */
function spin(ms: number, max: number): boolean {
  const start = performance.now();
  while (performance.now() - start < ms) {
    // waiting on the clock
  }
  return performance.now() - start <= max;
}

describe('TurnTracker', () => {
  it('an idle sender sends alone; the rest of its turn batches', async () => {
    let ends = 0;
    const t = new TurnTracker(() => ends++);
    expect(t.coalesce(10, false)).toBe(false);
    t.sent();
    expect(t.coalesce(10, false)).toBe(true);
    expect(t.coalesce(64 * 1024, false)).toBe(false);
    await endOfTurn();
    expect(ends).toBe(1);
  });

  it('after a turn that batched, a gap of 1 ms still batches the next first message; after a lone send it does not', async () => {
    let batchedAfterBurst = false;
    let aloneAfterLone = false;
    for (let k = 0; k < 5 && !(batchedAfterBurst && aloneAfterLone); k++) {
      const t = new TurnTracker(() => {});
      t.sent();
      t.batched();
      await endOfTurn();
      if (spin(1, 1.8)) batchedAfterBurst ||= t.coalesce(10, false);
      const u = new TurnTracker(() => {});
      u.sent();
      await endOfTurn();
      if (spin(1, 1.8)) aloneAfterLone ||= !u.coalesce(10, false);
    }
    expect(batchedAfterBurst).toBe(true);
    expect(aloneAfterLone).toBe(true);
  });

  it('a paced sender (5 ms apart) always sends alone, burst or not', async () => {
    const t = new TurnTracker(() => {});
    t.sent();
    t.batched();
    await endOfTurn();
    spin(5, Infinity);
    expect(t.coalesce(10, false)).toBe(false);
    expect(t.coalesce(10, true)).toBe(true);
  });
});
