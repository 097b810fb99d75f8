// A broadcast filter kept one mask at a time, for a member whose filter
// changes by one rule at a time (a client adding 10,000 match rules).
import { checkMaskShapes } from './bloom.js';

/**
 * Distinct masks, each counted (rules often share one): add and delete
 * cost O(1), the mask checked and copied as it comes in. setFilter() with a
 * MaskSet costs O(1) too: the transport reads the set once, at the end of
 * the turn, so a member that adds n rules one by one does O(n) work in
 * all, where a fresh Uint8Array[] at every rule, checked and copied each
 * time, did O(n^2). Call setFilter() again after changing the set: a change
 * alone does not reach the peers or the socket.
 */
export class MaskSet {
  readonly #byKey = new Map<string, { mask: Uint8Array; count: number; at: number }>();
  /** The distinct masks, in no particular order (a deleted one's place takes the last). */
  readonly #list: Uint8Array[] = [];

  /** Distinct masks held. */
  get size(): number {
    return this.#list.length;
  }

  /** Counts one more use of `mask` (copied the first time). Throws ERR_INVALID_ARG for a bad mask. */
  add(mask: Uint8Array): void {
    checkMaskShapes([mask]);
    const key = keyOf(mask);
    const e = this.#byKey.get(key);
    if (e !== undefined) {
      e.count++;
      return;
    }
    const own = Uint8Array.from(mask);
    this.#byKey.set(key, { mask: own, count: 1, at: this.#list.length });
    this.#list.push(own);
  }

  /** Counts one use of `mask` less; the last use removes it. Returns false when it was not held. */
  delete(mask: Uint8Array): boolean {
    const key = keyOf(mask);
    const e = this.#byKey.get(key);
    if (e === undefined) return false;
    if (--e.count > 0) return true;
    this.#byKey.delete(key);
    const last = this.#list.pop()!;
    if (last !== e.mask) {
      this.#list[e.at] = last;
      this.#byKey.get(keyOf(last))!.at = e.at;
    }
    return true;
  }

  /** The masks now, each once: a view, valid until the next change (copy what you keep). */
  masks(): readonly Uint8Array[] {
    return this.#list;
  }
}

function keyOf(mask: Uint8Array): string {
  return Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength).toString('hex');
}

/** What setFilter takes: masks (checked and copied at the call), a MaskSet (read at the end of the turn), or null (everything). */
export type Filter = readonly Uint8Array[] | MaskSet | null;

/** Checks a filter given to setFilter: a list now, O(its length); a MaskSet in O(1) (its masks were checked as they came in). */
export function checkFilter(filter: Filter): void {
  if (!(filter instanceof MaskSet)) checkMaskShapes(filter);
}

/** The masks of a filter as they are now (null: no filter). */
export function maskList(filter: Filter): readonly Uint8Array[] | null {
  return filter instanceof MaskSet ? filter.masks() : filter;
}
