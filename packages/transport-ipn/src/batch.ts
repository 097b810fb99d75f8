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
import { NO_FDS, Received } from './received.js';

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
 * The number of records in `block` from `offset` to `end`, or -1 when they
 * do not tile that range exactly: a malformed batch is dropped whole
 * rather than delivered partly. Looks at the length words only.
 */
export function countRecords(block: Buffer, offset: number, end: number): number {
  let n = 0;
  let off = offset;
  while (off < end) {
    if (off + RECORD_PREFIX > end) return -1;
    const len = block.readUInt32LE(off);
    off += RECORD_PREFIX;
    if (len > end - off) return -1;
    off += len;
    n++;
  }
  return n;
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
 * Hands `take` the messages of the batch in `block` from `offset` to `end`
 * (sent by `from`; its records checked by countRecords), in the sender's
 * order, one object each, their bytes left in `block`; stops when `take`
 * returns false. A loss count rides on the first only: the losses came
 * before the batch.
 */
export function batchMessages(
  block: Buffer, offset: number, end: number, from: bigint, dropped: number, creds: Credentials | undefined,
  take: (m: IncomingMessage) => boolean,
): void {
  let lost = dropped;
  for (let off = offset; off < end;) {
    const len = block.readUInt32LE(off);
    off += RECORD_PREFIX;
    const m = new Received(from, block, off, len, NO_FDS, lost, false, creds);
    off += len;
    lost = 0;
    if (!take(m)) return;
  }
}
