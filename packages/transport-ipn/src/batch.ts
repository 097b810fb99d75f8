// Coalesced broadcasts: several messages with one bloom packed into one
// datagram payload as [u32 LE length][bytes] records.
//
// Why: under load, one datagram per message costs the sender a send per
// message (user backend: a lock pair and one sendmsg per receiver; kernel:
// one skb clone and queueing per receiver) and wakes every receiver per
// message. A batch pays that once for all its messages; the receivers
// unpack it and deliver each record as its own message, in order.

import { sameBloom } from './bloom.js';
import type { Credentials, IncomingMessage } from './network.js';

/** Bytes of the length prefix before each record. */
export const RECORD_PREFIX = 4;
/** Keeps a batch's unpacking work bounded. */
export const BATCH_COUNT_MAX = 1024;

/** A batch being filled: one growable buffer, records appended in order. */
export class BatchBuilder {
  private buf: Buffer;
  private len = 0;
  count = 0;

  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Bytes the payload would have after appending `n` more message bytes. */
  sizeWith(n: number): number {
    return this.len + RECORD_PREFIX + n;
  }

  get bytes(): number {
    return this.len;
  }

  /** Copies `msg` in (the caller may reuse its buffer at once). Returns the record's bytes. */
  append(msg: Uint8Array): Buffer {
    const need = this.len + RECORD_PREFIX + msg.length;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    this.buf.writeUInt32LE(msg.length, this.len);
    this.buf.set(msg, this.len + RECORD_PREFIX);
    const start = this.len + RECORD_PREFIX;
    this.len = need;
    this.count++;
    return this.buf.subarray(start, need);
  }

  /** The packed payload (a view: the builder must not be reused after). */
  payload(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Splits a batch payload into its records (views into `payload`). Returns
 * null when the records do not tile the payload exactly: a malformed batch
 * is dropped whole rather than delivered partly.
 */
export function unpackBatch(payload: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let off = 0;
  while (off < payload.length) {
    if (off + RECORD_PREFIX > payload.length) return null;
    const n = payload.readUInt32LE(off);
    off += RECORD_PREFIX;
    if (n > payload.length - off) return null;
    out.push(payload.subarray(off, off + n));
    off += n;
  }
  return out.length > 0 ? out : null;
}

/** A batch being filled: the broadcasts of one bloom. */
export interface OpenBatch {
  builder: BatchBuilder;
  bloom: Uint8Array | undefined;
}

/** Can `batch` take one more message of `size` bytes with `bloom` and stay within `maxPayload`? */
export function batchTakes(batch: OpenBatch, bloom: Uint8Array | undefined, size: number, maxPayload: number): boolean {
  return sameBloom(batch.bloom, bloom) && batch.builder.sizeWith(size) <= maxPayload &&
    batch.builder.count < BATCH_COUNT_MAX;
}

/** A builder with room for some 64 messages like this one, within `maxPayload`. */
export function batchBuilderFor(size: number, maxPayload: number): BatchBuilder {
  return new BatchBuilder(Math.min(maxPayload, 64 * (size + RECORD_PREFIX)));
}

/**
 * The messages of an unpacked batch from `from`, in the sender's order. A
 * loss count rides on the first only: the losses came before the batch.
 */
export function batchMessages(recs: Buffer[], from: bigint, dropped: number, creds: Credentials | undefined): IncomingMessage[] {
  return recs.map((bytes, i) => {
    const m: IncomingMessage = { from, bytes, fds: [], dropped: i === 0 ? dropped : 0, unicast: false };
    if (creds !== undefined) m.creds = creds;
    return m;
  });
}
