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
//
// The buffer holds every message a subscriber receives, so it allocates
// nothing per entry: numbers and items sit in two parallel arrays (an
// object per entry was a third of the receive path's garbage), entries are
// taken from a head index rather than copied out, and the arrays are
// emptied in place once everything was taken.

/** Taken entries before the head that make the arrays worth compacting. */
const COMPACT_AT = 4096;

export class OrderBuffer<T> {
  private seqs: number[] = [];
  private items: (T | undefined)[] = [];
  /** Entries before this index were taken. */
  private head = 0;
  /** False once an entry was added below the last one: take() must sort. */
  private sorted = true;
  private lastSeq = 0;
  /** Counts takes: a take started from inside a visit finishes the outer one's work. */
  private takes = 0;
  /** Highest sequence number read so far. */
  maxSeen = 0;

  add(seq: number, item: T): void {
    if (seq > this.maxSeen) this.maxSeen = seq;
    // Entries nearly always arrive in number order (one peer, or batches):
    // then take() needs no sort.
    if (seq < this.lastSeq) this.sorted = false;
    this.lastSeq = seq;
    this.seqs.push(seq);
    this.items.push(item);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /**
   * Hands `visit`, in order, everything numbered <= horizon that is here
   * when the call starts; stops early when `visit` returns false (what is
   * left stays, in order). `visit` may add entries (a loopback sent from a
   * listener), which wait for the next take, or take itself (a nested
   * take delivers the rest, in order, and this one stops).
   */
  take(horizon: number, visit: (item: T) => boolean): void {
    if (this.size === 0) return;
    if (!this.sorted) this.sort();
    const seqs = this.seqs;
    let end = this.head;
    while (end < seqs.length && seqs[end]! <= horizon) end++;
    const mine = ++this.takes;
    while (this.takes === mine && this.head < end) {
      const at = this.head++;
      const item = this.items[at] as T;
      // Not kept alive by the buffer once handed out.
      this.items[at] = undefined;
      if (!visit(item)) break;
    }
    if (this.takes === mine) this.compact();
  }

  /** Stable sort of the entries not taken yet, by number, then arrival. */
  private sort(): void {
    const { seqs, items, head } = this;
    const order: number[] = [];
    for (let i = head; i < seqs.length; i++) order.push(i);
    order.sort((a, b) => seqs[a]! - seqs[b]! || a - b);
    this.seqs = order.map((i) => seqs[i]!);
    this.items = order.map((i) => items[i]);
    this.head = 0;
    this.sorted = true;
  }

  private compact(): void {
    const n = this.items.length;
    if (this.head === n) {
      // Everything taken: the arrays keep their room for the next batch.
      this.seqs.length = 0;
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= n) {
      this.seqs.copyWithin(0, this.head);
      this.items.copyWithin(0, this.head);
      this.seqs.length = n - this.head;
      this.items.length = n - this.head;
      this.head = 0;
    }
    this.lastSeq = this.size > 0 ? this.seqs[this.seqs.length - 1]! : 0;
  }
}
