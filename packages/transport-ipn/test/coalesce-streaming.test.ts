// Coalescing across turns: a sender that broadcasts turn after turn batches
// the first message of each next turn too. The policy (turn.ts) is the same
// for both backends; it is proven by sub-millisecond gaps between turns,
// which TCG's emulation stretches, so this file runs on the host only.
import { describe, expect, it } from 'vitest';
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
