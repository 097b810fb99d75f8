// Reader: the decoder's cursor over input bytes, with bounds, padding and string checks.
import { isUtf8 } from 'node:buffer';
import { WireError } from './errors.js';

// Strings up to this many bytes go through the intern cache below.
const INTERN_MAX = 48;
const INTERN_SLOTS = 1024;
const internBytes: (Uint8Array | undefined)[] = new Array(INTERN_SLOTS).fill(undefined);
const internStr: string[] = new Array(INTERN_SLOTS).fill('');

// Buffer#utf8Slice skips toString's argument handling; it is on the prototype
// in every Node we support but untyped, so reach it through a narrow cast.
type Utf8Sliceable = { utf8Slice(start: number, end: number): string };
const hasUtf8Slice = typeof (Buffer.prototype as unknown as Partial<Utf8Sliceable>).utf8Slice === 'function';
function utf8(buf: Buffer, start: number, end: number): string {
  return hasUtf8Slice ? (buf as unknown as Utf8Sliceable).utf8Slice(start, end) : buf.toString('utf8', start, end);
}

/**
 * Positions are indexes into `buf`; alignment is computed on `pos - origin`
 * (the start of the message, or the caller's alignment base for a bare body).
 * `end` bounds every read: nothing is read past it, whatever a length says.
 * `buf` may be a view of the whole ArrayBuffer the input lives in (see
 * `reset`), so positions need not start at 0.
 */
export class Reader {
  buf: Buffer;
  dv: DataView;
  pos: number;
  end: number;
  origin: number;
  le: boolean;
  /** Containers around the current value, across variants (spec limit 64). */
  depth = 0;
  /** 'h' values must be below this (the message's UNIX_FDS). */
  fdLimit = Infinity;
  /** Copy 'ay' values out instead of returning views into `buf`. */
  copyBytes = false;
  /** Error offsets are reported relative to this (the first byte of the input). */
  start: number;

  constructor(buf: Buffer, pos: number, end: number, origin: number, le: boolean) {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.pos = pos;
    this.start = pos;
    this.end = end;
    this.origin = origin;
    this.le = le;
  }

  /**
   * Points the reader at `input` without allocating when `input` shares its
   * ArrayBuffer with the previous input (frames cut from one socket chunk,
   * Buffers from Node's pool): the DataView spans the whole ArrayBuffer.
   */
  reset(input: Buffer, le: boolean): void {
    this.resetAt(input, 0, input.length, le);
  }

  /** reset() to the `length` bytes of `input` from `offset` (a message inside a larger block). */
  resetAt(input: Buffer, offset: number, length: number, le: boolean): void {
    const ab = input.buffer;
    if (ab !== this.buf.buffer || this.buf.byteOffset !== 0 || this.buf.length !== ab.byteLength) {
      this.buf = Buffer.from(ab, 0, ab.byteLength);
      this.dv = new DataView(ab, 0, ab.byteLength);
    }
    const at = input.byteOffset + offset;
    this.pos = at;
    this.start = at;
    this.origin = at;
    this.end = at + length;
    this.le = le;
    this.depth = 0;
    this.fdLimit = Infinity;
    this.copyBytes = false;
  }

  fail(rule: string, message: string, at = this.pos): never {
    throw new WireError(rule, message, at - this.start);
  }

  /** Skips to a multiple of `a`, checking the padding is zero, and checks `n` bytes follow. */
  align(a: number, n: number): void {
    const rel = this.pos - this.origin;
    const pad = (a - (rel & (a - 1))) & (a - 1);
    if (this.pos + pad + n > this.end) this.truncated(pad + n);
    const buf = this.buf;
    for (let i = 0; i < pad; i++) {
      if (buf[this.pos] !== 0) this.fail('bad-padding', 'padding byte is not zero');
      this.pos++;
    }
  }

  truncated(n: number): never {
    return this.fail('truncated', `need ${n} bytes, only ${this.end - this.pos} left`);
  }

  /**
   * Reads `len` bytes of string plus its NUL terminator and checks it is
   * valid UTF-8 without NULs. Short strings (names, paths, enum-like values)
   * repeat, so they are interned: a hash and compare over a few bytes replaces
   * the native decode and the checks. Longer ones are decoded natively; a
   * U+FFFD in the result is the only sign of invalid input, and only then is
   * the exact (also native) validator consulted.
   */
  string(len: number): string {
    const start = this.pos;
    const buf = this.buf;
    if (start + len + 1 > this.end) this.truncated(len + 1);
    if (buf[start + len] !== 0) this.fail('missing-nul', 'string is not NUL-terminated', start + len);
    this.pos = start + len + 1;
    if (len <= INTERN_MAX) {
      let h = len | 0;
      for (let i = start, e = start + len; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      // Two-way associative: a string lives in slot `a` or its neighbour, so
      // two hot names that hash alike do not keep evicting each other.
      const a = h & (INTERN_SLOTS - 2);
      for (let way = a; way <= a + 1; way++) {
        const known = internBytes[way];
        if (known !== undefined && known.length === len) {
          let i = 0;
          while (i < len && known[i] === buf[start + i]) i++;
          if (i === len) return internStr[way]!;
        }
      }
      const s = this.decode(start, len);
      // The newest entry goes first; the one it displaces moves to the second way.
      internBytes[a + 1] = internBytes[a];
      internStr[a + 1] = internStr[a]!;
      // A copy: the input buffer may be reused by its owner.
      internBytes[a] = new Uint8Array(buf.subarray(start, start + len));
      internStr[a] = s;
      return s;
    }
    return this.decode(start, len);
  }

  private decode(start: number, len: number): string {
    const buf = this.buf;
    const s = utf8(buf, start, start + len);
    if (s.indexOf('\0') !== -1) this.fail('embedded-nul', 'string contains a NUL byte', start);
    if (s.indexOf('\uFFFD') !== -1 && !isUtf8(buf.subarray(start, start + len))) {
      this.fail('bad-utf8', 'string is not valid UTF-8', start);
    }
    return s;
  }
}
