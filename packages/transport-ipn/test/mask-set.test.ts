// MaskSet: a filter kept one mask at a time. Its masks are counted, and a
// member that adds n masks one by one, calling setFilter after each, makes
// the transport read the set O(n) times in all, not O(n^2) (the work is
// counted, not timed). Runs on the backend named by IPNBUS_TEST_BACKEND.
import { describe, expect, it } from 'vitest';
import { MaskSet } from '../src/index.js';
import { BACKEND } from './member.js';
import { collect, pairsPerTest, text } from './pair.js';

const pair = pairsPerTest('mask-set');

/** Mask number i: two distinct bits set, so no mask fits inside another's bloom by chance. */
function maskNo(i: number): Uint8Array {
  const m = new Uint8Array(16);
  m[i % 16] = 1 << (i % 8);
  m[8 + ((i >> 4) % 8)]! |= 1 << ((i >> 7) % 8);
  return m;
}

/** A MaskSet that counts the masks the transport reads out of it. */
class CountedMaskSet extends MaskSet {
  read = 0;
  override masks(): readonly Uint8Array[] {
    const list = super.masks();
    this.read += list.length;
    return list;
  }
}

describe(`MaskSet (${BACKEND} backend)`, () => {
  it('counts each mask: the last delete removes it, the others stay whole', () => {
    const s = new MaskSet();
    const [a, b, c] = [maskNo(1), maskNo(2), maskNo(3)];
    s.add(a);
    s.add(Uint8Array.from(a));
    s.add(b);
    s.add(c);
    expect(s.size).toBe(3);
    expect(s.delete(a)).toBe(true);
    expect(s.size).toBe(3);
    expect(s.delete(a)).toBe(true);
    expect(s.delete(a)).toBe(false);
    expect(s.masks().map((m) => Buffer.from(m).toString('hex')).sort())
      .toEqual([b, c].map((m) => Buffer.from(m).toString('hex')).sort());
    // Copied as it came in: changing the caller's buffer changes nothing here.
    b[0] = 0xff;
    expect(s.masks().some((m) => m[0] === 0xff)).toBe(false);
    expect(() => s.add(new Uint8Array(5))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });

  for (const n of [500, 2000]) {
    it(`${n} masks added one by one, setFilter after each: the set is read once per turn, and the peer filters by all of them`, async () => {
      const [a, b] = await pair();
      const set = new CountedMaskSet();
      for (let i = 0; i < n; i++) {
        set.add(maskNo(i));
        b.setFilter(set);
      }
      // A unicast from b travels behind its filter: once a has it, a holds the filter.
      const filterTaken = collect(a, 1);
      b.send(a.id, Buffer.from('after my filter'));
      await filterTaken;
      // O(n) in all: one read at the end of the turn (a fresh list at every
      // rule, checked and copied, was n(n+1)/2 masks).
      expect(set.read).toBeLessThanOrEqual(2 * n);
      const got = collect(b, 2);
      const miss = new Uint8Array(16);
      a.broadcast(Buffer.from('miss'), miss);
      a.broadcast(Buffer.from('first'), maskNo(0));
      a.broadcast(Buffer.from('last'), maskNo(n - 1));
      expect((await got).map(text)).toEqual(['first', 'last']);
    });
  }
});
