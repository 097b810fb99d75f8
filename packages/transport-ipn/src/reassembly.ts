// Reassembles one sender's fragmented messages; never yields a partial one,
// and never lets a sender that does not finish grow the receiver unbounded.
import { closeSync } from 'node:fs';
import { HEADER_BYTES, MAX_MESSAGE_BYTES, type Header } from './header.js';

export interface Assembled {
  bytes: Buffer;
  fds: number[];
  /** Sum of the per-datagram `dropped` fields seen for this message. */
  dropped: number;
}

/** Default bound of the bytes all senders' unfinished messages may reserve together. */
export const REASSEMBLY_BUDGET_BYTES = 256 * 1024 * 1024;

/**
 * The bytes every sender's message in progress reserves, shared by the
 * reassemblers of one network: a message starts only if its announced
 * length fits in what is left.
 */
export class ReassemblyBudget {
  used = 0;
  constructor(readonly limit = REASSEMBLY_BUDGET_BYTES) {}
}

/**
 * Fragments of one message arrive in order from one sender (both backends
 * keep per-sender FIFO), so the state is just the message in progress: at
 * most one outstanding fragmented message per sender. Its buffer is the
 * announced length (at most MAX_MESSAGE_BYTES), reserved in the shared
 * budget when its first fragment arrives and filled in place; fragments
 * that would overrun it are refused. A fragment that does not continue it
 * means datagrams were lost: the partial message is discarded and
 * `discarded` counts it. Every refusal names its limit (takeRefusal).
 */
export class Reassembler {
  private msgId = 0;
  private next = 0;
  private total = 0;
  private got = 0;
  private buf: Buffer | null = null;
  private fds: number[] = [];
  private dropped = 0;
  private active = false;
  /** Partial messages thrown away since the last call to takeDiscarded(). */
  private discarded = 0;
  private refusal: string | null = null;

  constructor(private readonly budget: ReassemblyBudget = new ReassemblyBudget()) {}

  push(h: Header, datagram: Buffer, fds: number[]): Assembled | null {
    const payload = datagram.subarray(HEADER_BYTES);
    if (h.fragCount === 1) {
      this.abandon();
      return { bytes: payload, fds, dropped: h.dropped };
    }
    if (h.fragIndex === 0) {
      this.abandon();
      if (h.totalLen > MAX_MESSAGE_BYTES) {
        return this.refuse(fds, `message size limit: ${h.totalLen} bytes announced, at most ${MAX_MESSAGE_BYTES}`);
      }
      if (payload.length > h.totalLen || h.fragCount > h.totalLen + 1) {
        return this.refuse(fds, `fragment layout: ${h.fragCount} fragments for ${h.totalLen} bytes`);
      }
      if (this.budget.used + h.totalLen > this.budget.limit) {
        return this.refuse(fds, `reassembly budget: ${this.budget.used} of ${this.budget.limit} bytes in use, ` +
          `${h.totalLen} more announced`);
      }
      this.budget.used += h.totalLen;
      this.active = true;
      this.msgId = h.msgId;
      this.next = 1;
      this.total = h.totalLen;
      this.buf = Buffer.allocUnsafe(h.totalLen);
      payload.copy(this.buf, 0);
      this.got = payload.length;
      this.fds = fds;
      this.dropped = h.dropped;
      return null;
    }
    if (!this.active || h.msgId !== this.msgId || h.fragIndex !== this.next) {
      // A continuation without its beginning (we joined mid-message, or the
      // start was lost): drop it and whatever was in progress.
      this.abandon();
      for (const fd of fds) closeQuietly(fd);
      return null;
    }
    if (this.got + payload.length > this.total) {
      this.abandon();
      return this.refuse(fds, `fragment layout: fragments exceed the announced ${this.total} bytes`);
    }
    payload.copy(this.buf!, this.got);
    this.got += payload.length;
    this.dropped += h.dropped;
    for (const fd of fds) this.fds.push(fd);
    this.next++;
    if (this.next < h.fragCount) return null;
    const ok = this.got === this.total;
    const out: Assembled = { bytes: this.buf!, fds: this.fds, dropped: this.dropped };
    this.release();
    if (!ok) {
      this.discarded++;
      for (const fd of out.fds) closeQuietly(fd);
      return null;
    }
    return out;
  }

  /** A fragmented message is half-way through. */
  get inProgress(): boolean {
    return this.active;
  }

  /** Drops a message in progress (sender gone or a gap seen). */
  abandon(): void {
    if (!this.active) return;
    this.discarded++;
    for (const fd of this.fds) closeQuietly(fd);
    this.release();
  }

  takeDiscarded(): number {
    const d = this.discarded;
    this.discarded = 0;
    return d;
  }

  /** Why the last fragment was refused (naming the limit), once; null if none was. */
  takeRefusal(): string | null {
    const r = this.refusal;
    this.refusal = null;
    return r;
  }

  private release(): void {
    if (this.active) this.budget.used -= this.total;
    this.active = false;
    this.buf = null;
    this.fds = [];
  }

  private refuse(fds: number[], why: string): null {
    for (const fd of fds) closeQuietly(fd);
    this.refusal = why;
    return null;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to release.
  }
}
