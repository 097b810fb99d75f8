// The transport prefilter of a member with several endpoints: the union of their bloom masks, kept as they change.
import { maskList, type Filter } from '@ipnbus/transport-ipn';

/**
 * Past this many distinct masks the member asks for every broadcast (null)
 * and sorts them out locally: a filter that long costs each sender (user
 * backend) or the socket filter (kernel) more than the wake-ups it saves.
 */
export const MAX_UNION_MASKS = 256;

/** Masks are kept by MatchSet as long as their rule lives: their text key is made once. */
const keys = new WeakMap<Uint8Array, string>();
function keyOf(m: Uint8Array): string {
  let k = keys.get(m);
  if (k === undefined) {
    k = Buffer.from(m.buffer, m.byteOffset, m.byteLength).toString('hex');
    keys.set(m, k);
  }
  return k;
}

/**
 * Each endpoint's masks are counted once per distinct mask, so a change
 * costs the size of that endpoint's filter, not the member's (a gateway
 * with a thousand clients updates one client's rules at a time), and the
 * union is rebuilt only when a mask appears or goes. A null filter (wake
 * for every broadcast: a rule with no bloomable key, or a monitor) in any
 * endpoint makes the union null.
 */
export class FilterUnion {
  readonly #byEndpoint = new Map<bigint, Set<string> | null>();
  readonly #masks = new Map<string, { mask: Uint8Array; count: number }>();
  #nulls = 0;
  #dirty = true;
  /** What was last returned: 'all' for null, 'masks' for a list. */
  #last: 'all' | 'masks' | undefined;

  /** Endpoint `id`'s filter is now `masks`; returns the new union, or undefined when it did not change. */
  update(id: bigint, filter: Filter): Uint8Array[] | null | undefined {
    const masks = maskList(filter);
    const old = this.#byEndpoint.get(id);
    let next: Set<string> | null = null;
    if (masks !== null) {
      next = new Set();
      for (const m of masks) {
        const k = keyOf(m);
        next.add(k);
        if (old instanceof Set && old.has(k)) continue;
        const e = this.#masks.get(k);
        if (e === undefined) {
          this.#masks.set(k, { mask: m, count: 1 });
          this.#dirty = true;
        } else e.count++;
      }
    } else this.#nulls++;
    this.#release(old, next);
    this.#byEndpoint.set(id, next);
    return this.#changed();
  }

  /** Endpoint `id` is gone; returns the new union, or undefined when it did not change. */
  remove(id: bigint): Uint8Array[] | null | undefined {
    const old = this.#byEndpoint.get(id);
    if (old === undefined) return undefined;
    this.#byEndpoint.delete(id);
    this.#release(old, null);
    return this.#changed();
  }

  /** Drops `old`'s counts, except for the masks `kept` still holds. */
  #release(old: Set<string> | null | undefined, kept: Set<string> | null): void {
    if (old === undefined) return;
    if (old === null) {
      this.#nulls--;
      return;
    }
    for (const k of old) {
      if (kept !== null && kept.has(k)) continue;
      const e = this.#masks.get(k)!;
      if (--e.count === 0) {
        this.#masks.delete(k);
        this.#dirty = true;
      }
    }
  }

  #changed(): Uint8Array[] | null | undefined {
    if (this.#nulls > 0 || this.#masks.size > MAX_UNION_MASKS) {
      if (this.#last === 'all') return undefined;
      this.#last = 'all';
      this.#dirty = true;
      return null;
    }
    if (this.#last === 'masks' && !this.#dirty) return undefined;
    this.#last = 'masks';
    this.#dirty = false;
    return Array.from(this.#masks.values(), (e) => e.mask);
  }
}
