// Reassembles one sender's fragmented messages; never yields a partial one.
import { closeSync } from 'node:fs';
import { HEADER_BYTES, type Header } from './header.js';

export interface Assembled {
  bytes: Buffer;
  fds: number[];
  /** Sum of the per-datagram `dropped` fields seen for this message. */
  dropped: number;
}

/**
 * Fragments of one message arrive in order from one sender (both backends
 * keep per-sender FIFO), so the state is just the message in progress. A
 * fragment that does not continue it means datagrams were lost: the partial
 * message is discarded and `discarded` counts it.
 */
export class Reassembler {
  private msgId = 0;
  private next = 0;
  private total = 0;
  private got = 0;
  private chunks: Buffer[] = [];
  private fds: number[] = [];
  private dropped = 0;
  private active = false;
  /** Partial messages thrown away since the last call to takeDiscarded(). */
  private discarded = 0;

  push(h: Header, datagram: Buffer, fds: number[]): Assembled | null {
    const payload = datagram.subarray(HEADER_BYTES);
    if (h.fragCount === 1) {
      this.abandon();
      return { bytes: payload, fds, dropped: h.dropped };
    }
    if (h.fragIndex === 0) {
      this.abandon();
      this.active = true;
      this.msgId = h.msgId;
      this.next = 1;
      this.total = h.totalLen;
      this.got = payload.length;
      this.chunks = [payload];
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
    this.chunks.push(payload);
    this.got += payload.length;
    this.dropped += h.dropped;
    for (const fd of fds) this.fds.push(fd);
    this.next++;
    if (this.next < h.fragCount) return null;
    const ok = this.got === this.total;
    const out: Assembled = { bytes: Buffer.concat(this.chunks, this.got), fds: this.fds, dropped: this.dropped };
    this.active = false;
    this.chunks = [];
    this.fds = [];
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
    this.active = false;
    this.discarded++;
    for (const fd of this.fds) closeQuietly(fd);
    this.chunks = [];
    this.fds = [];
  }

  takeDiscarded(): number {
    const d = this.discarded;
    this.discarded = 0;
    return d;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to release.
  }
}
