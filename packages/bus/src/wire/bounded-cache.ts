// BoundedCache: the one size policy for caches keyed by signatures that arrive from the network.

// Signatures arrive from the network inside variants, so every cache keyed by
// them is bounded: a peer sending endless distinct signatures only costs
// re-parsing and re-compiling, never memory.
const CACHE_LIMIT = 4096;

/** A Map that empties itself instead of growing past CACHE_LIMIT entries. */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (this.map.size >= CACHE_LIMIT) this.map.clear();
    this.map.set(key, value);
  }
}
