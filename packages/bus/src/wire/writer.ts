// Writer: an alignment-aware cursor that encodes straight into a shared slab, handing out views.
import { WireError } from './errors.js';

const SLAB_SIZE = 64 * 1024;
// Start a fresh slab when less than this is left, so most messages never grow mid-encode.
const SLAB_MIN_FREE = 4 * 1024;
// A slab grown past this for one big message is not reused for the next.
const KEEP_LIMIT = 1024 * 1024;

/**
 * The encoder's state. Messages are written one after another into a slab
 * (as Node's Buffer pool does) and returned as views of it, so encoding costs
 * no copy. `pos` is absolute within `buf`; alignment is computed on
 * `pos - origin`, the start of the current message. When a message outgrows
 * the slab, a bigger one is allocated with the same offsets (closures hold
 * absolute positions of length words to patch).
 */
export class Writer {
  buf: Buffer;
  dv: DataView;
  pos = 0;
  origin = 0;
  /** Where the next message may start in `buf` (8-aligned). */
  private next = 0;
  le = true;
  /** Containers around the current value, across variants (spec limit 64). */
  depth = 0;
  /** 'h' values must be below this (the message's UNIX_FDS). */
  fdLimit = Infinity;
  busy = false;

  constructor(size = SLAB_SIZE) {
    this.buf = Buffer.allocUnsafe(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** Starts a message (or bare body) at a fresh 8-aligned spot; `shift` bytes in for a body at an offset. */
  begin(le: boolean, fdLimit: number, shift = 0): void {
    if (this.buf.length - this.next < SLAB_MIN_FREE) this.newSlab(SLAB_SIZE);
    this.origin = this.next;
    this.pos = this.next + shift;
    this.le = le;
    this.depth = 0;
    this.fdLimit = fdLimit;
  }

  private newSlab(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.next = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(this.pos + n);
  }

  private grow(min: number): void {
    let size = this.buf.length * 2;
    while (size < min) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, this.origin, this.origin, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
  }

  /** Writes zero padding up to a multiple of `a` (1, 2, 4 or 8) and reserves `n` bytes after it. */
  align(a: number, n: number): void {
    const rel = this.pos - this.origin;
    const pad = (a - (rel & (a - 1))) & (a - 1);
    if (this.pos + pad + n > this.buf.length) this.grow(this.pos + pad + n);
    const buf = this.buf;
    // The slab is not zeroed (allocUnsafe), so padding must be written.
    for (let i = 0; i < pad; i++) buf[this.pos++] = 0;
  }

  /** Ends the message: returns a view of the bytes [origin + shift, pos). */
  finish(shift = 0): Buffer {
    const out = this.buf.subarray(this.origin + shift, this.pos);
    if (this.buf.length > KEEP_LIMIT) this.newSlab(SLAB_SIZE);
    else this.next = (this.pos + 7) & ~7;
    return out;
  }

  /** Drops a failed message: the next one reuses its space. */
  abandon(): void {
    this.pos = this.origin;
  }

  fail(rule: string, message: string): never {
    throw new WireError(rule, message, this.pos - this.origin);
  }
}

const shared = new Writer();

/**
 * Borrows the shared writer, or a fresh one if an encode is already running
 * (a getter on a value could re-enter the encoder).
 */
export function acquireWriter(): Writer {
  if (shared.busy) return new Writer(1024);
  shared.busy = true;
  return shared;
}

export function releaseWriter(w: Writer): void {
  w.busy = false;
}
