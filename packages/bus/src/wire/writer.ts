// Writer: a growable output buffer with an alignment-aware cursor, reused between encodes.
import { WireError } from './errors.js';

const INITIAL_SIZE = 64 * 1024;
// Above this the scratch buffer is dropped after use, so one huge message
// does not pin its memory for the life of the process.
const KEEP_LIMIT = 1024 * 1024;

/**
 * The encoder's state. `pos` is absolute within `buf`; alignment is computed
 * on `pos - origin`, so a body marshalled at a given offset pads as it would
 * inside a message.
 */
export class Writer {
  buf: Buffer;
  dv: DataView;
  pos = 0;
  origin = 0;
  le = true;
  /** Containers around the current value, across variants (spec limit 64). */
  depth = 0;
  /** 'h' values must be below this (the message's UNIX_FDS). */
  fdLimit = Infinity;
  busy = false;

  constructor(size = INITIAL_SIZE) {
    this.buf = Buffer.allocUnsafe(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  reset(origin: number, le: boolean, fdLimit: number): void {
    this.pos = origin;
    this.origin = origin;
    this.le = le;
    this.depth = 0;
    this.fdLimit = fdLimit;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(this.pos + n);
  }

  private grow(min: number): void {
    let size = this.buf.length * 2;
    while (size < min) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
  }

  /** Writes zero padding up to a multiple of `a` (1, 2, 4 or 8) and reserves `n` bytes after it. */
  align(a: number, n: number): void {
    const rel = this.pos - this.origin;
    const pad = (a - (rel & (a - 1))) & (a - 1);
    if (this.pos + pad + n > this.buf.length) this.grow(this.pos + pad + n);
    const buf = this.buf;
    // The scratch buffer is reused, so padding must be written, not assumed.
    for (let i = 0; i < pad; i++) buf[this.pos++] = 0;
  }

  /** Copies the written bytes [from, pos) out into a fresh Buffer. */
  take(from: number): Buffer {
    const len = this.pos - from;
    const out = Buffer.allocUnsafe(len);
    this.buf.copy(out, 0, from, this.pos);
    if (this.buf.length > KEEP_LIMIT) {
      this.buf = Buffer.allocUnsafe(INITIAL_SIZE);
      this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    }
    return out;
  }

  fail(rule: string, message: string): never {
    throw new WireError(rule, message, this.pos - this.origin);
  }
}

const shared = new Writer();

/**
 * Borrows the shared scratch writer, or a fresh one if an encode is already
 * running (a getter on a value could re-enter the encoder).
 */
export function acquireWriter(): Writer {
  if (shared.busy) return new Writer(1024);
  shared.busy = true;
  return shared;
}

export function releaseWriter(w: Writer): void {
  w.busy = false;
}
