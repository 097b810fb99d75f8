// Delivery in one network-wide order for the user backend's mesh.
//
// Every broadcast datagram carries a sequence number assigned under the
// network lock, and the sender releases the lock only after the datagram is
// in every receiver's kernel queue. So once we hold a message numbered s,
// every message numbered below s that is meant for us is already queued on
// one of our sockets. After a complete pass over all sockets that started
// after s was read, nothing below s can still arrive: s is safe to deliver.
// Unicasts and membership changes ride on the number of the last broadcast
// seen from the same peer, which keeps each sender's own order intact.
export interface Ordered<T> {
  seq: number;
  sub: number;
  item: T;
}

export class OrderBuffer<T> {
  private pending: Ordered<T>[] = [];
  private sub = 0;
  /** False once an entry was added below the last one: take() must sort. */
  private sorted = true;
  private lastSeq = 0;
  /** Highest sequence number read so far. */
  maxSeen = 0;

  add(seq: number, item: T): void {
    if (seq > this.maxSeen) this.maxSeen = seq;
    // Entries nearly always arrive in number order (one peer, or batches):
    // then take() needs no sort.
    if (seq < this.lastSeq) this.sorted = false;
    this.lastSeq = seq;
    this.pending.push({ seq, sub: this.sub++, item });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Removes and returns, in order, everything numbered <= horizon. */
  take(horizon: number): T[] {
    const p = this.pending;
    if (p.length === 0) return [];
    if (!this.sorted) {
      p.sort((a, b) => a.seq - b.seq || a.sub - b.sub);
      this.sorted = true;
    }
    let n = 0;
    while (n < p.length && p[n]!.seq <= horizon) n++;
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = p[i]!.item;
    if (n === p.length) this.pending = [];
    else if (n > 0) this.pending = p.slice(n);
    this.lastSeq = this.pending.length > 0 ? this.pending[this.pending.length - 1]!.seq : 0;
    return out;
  }
}
