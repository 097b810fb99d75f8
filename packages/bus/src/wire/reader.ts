// Reader: the decoder's cursor over input bytes, with bounds, padding and string checks.
import { isUtf8 } from 'node:buffer';
import { WireError } from './errors.js';

/**
 * Positions are indexes into `buf`; alignment is computed on `pos - origin`
 * (the start of the message, or the caller's alignment base for a bare body).
 * `end` bounds every read: nothing is read past it, whatever a length says.
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
    this.start = pos;
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.pos = pos;
    this.end = end;
    this.origin = origin;
    this.le = le;
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

  need(n: number): void {
    if (this.pos + n > this.end) this.truncated(n);
  }

  truncated(n: number): never {
    return this.fail('truncated', `need ${n} bytes, only ${this.end - this.pos} left`);
  }

  /**
   * Reads `len` bytes of string plus its NUL terminator. The UTF-8 decode runs
   * natively; a U+FFFD in the result is the only sign of invalid input, and
   * only then is the exact (also native) validator consulted.
   */
  string(len: number): string {
    const start = this.pos;
    if (start + len + 1 > this.end || len < 0) this.truncated(len + 1);
    const buf = this.buf;
    if (buf[start + len] !== 0) this.fail('missing-nul', 'string is not NUL-terminated', start + len);
    const s = buf.toString('utf8', start, start + len);
    if (s.indexOf('\0') !== -1) this.fail('embedded-nul', 'string contains a NUL byte', start);
    if (s.indexOf('\uFFFD') !== -1 && !isUtf8(buf.subarray(start, start + len))) {
      this.fail('bad-utf8', 'string is not valid UTF-8', start);
    }
    this.pos = start + len + 1;
    return s;
  }
}
