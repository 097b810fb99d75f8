// FrameReader: cuts a byte stream (e.g. a unix socket after SASL) into whole messages.
import { decodeMessage, type DecodeOptions } from './decode-message.js';
import { FIXED_HEADER_LENGTH, messageByteLength } from './frame-length.js';
import type { Message } from './message.js';
import { WireError } from './errors.js';
import { MAX_MESSAGE_LENGTH } from './limits.js';

export interface FrameReaderOptions extends DecodeOptions {
  /** Refuse frames longer than this ('too-long'), below the spec's 128 MiB, e.g. to bound a client's memory. */
  maxMessageLength?: number;
}

/**
 * Feed it chunks in arrival order, however they are split; it returns each
 * message as soon as its last byte arrives. Chunks are kept as a list and
 * joined once per frame; consumed chunks are passed over with an index,
 * never shifted off the front (which moves every remaining element), so a
 * message fed one byte at a time costs O(n), not O(n^2). A frame that fits
 * in one chunk is returned as a view of that chunk (no copy): do not reuse
 * chunk buffers after pushing them.
 *
 * A framing error (bad endian byte, version or length) throws WireError and
 * the stream cannot be resynchronised: the caller should drop the connection.
 * Frames completed before the bad bytes are still returned first; the error
 * is thrown by the next call.
 *
 * `push` decodes too and throws on the first bad message, losing the rest of
 * that chunk's frames; callers that answer bad messages one by one (a bus
 * replying with an error, say) use `pushRaw` and `decodeMessage` per frame.
 */
export class FrameReader {
  /** Pending chunks; those before `head` are consumed (kept until the list is reset, see take()). */
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  /** Length of the frame being assembled, or -1 until its fixed header is in. */
  private need = -1;
  private readonly decodeOpts: DecodeOptions | undefined;
  private readonly maxMessageLength: number;
  /** A framing error met after some good frames, thrown on the next call. */
  private failed: unknown = undefined;

  constructor(opts?: FrameReaderOptions) {
    this.decodeOpts = opts;
    this.maxMessageLength = opts?.maxMessageLength ?? MAX_MESSAGE_LENGTH;
  }

  /** Bytes received but not yet returned as a frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Adds a chunk; returns the messages it completes, decoded. Throws WireError on a bad message. */
  push(chunk: Uint8Array): Message[] {
    const frames = this.pushRaw(chunk);
    const out = new Array<Message>(frames.length);
    for (let i = 0; i < frames.length; i++) out[i] = decodeMessage(frames[i]!, this.decodeOpts);
    return out;
  }

  /** Adds a chunk; returns the whole frames it completes, undecoded. */
  pushRaw(chunk: Uint8Array): Buffer[] {
    if (this.failed !== undefined) throw this.failed;
    const out: Buffer[] = [];
    try {
      this.cut(chunk, out);
    } catch (e) {
      this.failed = e;
      if (out.length === 0) throw e;
    }
    return out;
  }

  private cut(chunk: Uint8Array, out: Buffer[]): void {
    if (chunk.length === 0) return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Fast path: nothing pending, so whole frames can be cut straight from the chunk.
    let off = 0;
    if (this.buffered === 0) {
      for (;;) {
        const n = this.frameLength(buf, off);
        if (n === undefined || off + n > buf.length) break;
        out.push(buf.subarray(off, off + n));
        off += n;
      }
      if (off === buf.length) return;
    }
    this.chunks.push(off === 0 ? buf : buf.subarray(off));
    this.buffered += buf.length - off;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < FIXED_HEADER_LENGTH) break;
        this.need = this.frameLength(this.peekHeader(), 0)!;
      }
      if (this.buffered < this.need) break;
      out.push(this.take(this.need));
      this.need = -1;
    }
  }

  private frameLength(buf: Buffer, off: number): number | undefined {
    const n = messageByteLength(buf, off);
    if (n !== undefined && n > this.maxMessageLength) {
      throw new WireError('too-long', `message of ${n} bytes is over this reader's limit of ${this.maxMessageLength}`, 4);
    }
    return n;
  }

  /** The first FIXED_HEADER_LENGTH buffered bytes (a view when the first chunk holds them all). */
  private peekHeader(): Buffer {
    const first = this.chunks[this.head]!;
    if (first.length >= FIXED_HEADER_LENGTH) return first;
    const header = Buffer.allocUnsafe(FIXED_HEADER_LENGTH);
    let got = 0;
    for (let i = this.head; got < FIXED_HEADER_LENGTH; i++) {
      const c = this.chunks[i]!;
      got += c.copy(header, got, 0, Math.min(c.length, FIXED_HEADER_LENGTH - got));
    }
    return header;
  }

  /** Removes and returns the first `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const chunks = this.chunks;
    const first = chunks[this.head]!;
    let frame: Buffer;
    if (first.length >= n) {
      frame = first.subarray(0, n);
      if (first.length === n) this.head++;
      else chunks[this.head] = first.subarray(n);
    } else {
      frame = Buffer.allocUnsafe(n);
      let got = 0;
      let i = this.head;
      while (got < n) {
        const c = chunks[i]!;
        const k = Math.min(c.length, n - got);
        c.copy(frame, got, 0, k);
        got += k;
        if (k === c.length) i++;
        else chunks[i] = c.subarray(k);
      }
      this.head = i;
    }
    this.buffered -= n;
    // All consumed: start a fresh list. Otherwise drop the consumed prefix
    // once it is most of the list, so the copy is paid for by the chunks
    // consumed since the last one (amortised O(1) per chunk).
    if (this.head === chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 32 && this.head * 2 > chunks.length) {
      this.chunks = chunks.slice(this.head);
      this.head = 0;
    }
    return frame;
  }
}
