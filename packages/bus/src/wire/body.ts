// marshal/unmarshal: a bare body (values for a signature) without a message header.
import { bodyDecoders } from './decoder.js';
import { bodyEncoders, checkBody } from './encoder.js';
import { WireError } from './errors.js';
import type { Endian } from './message.js';
import { Reader } from './reader.js';
import { acquireWriter, releaseWriter } from './writer.js';

export interface BodyOptions {
  endian?: Endian;
  /** Alignment base: the offset this body would start at inside a message (only its value mod 8 matters). */
  offset?: number;
}

export interface UnmarshalOptions extends BodyOptions {
  /** 'h' indexes must be below this (default: no limit). */
  unixFds?: number;
  /** Copy 'ay' values instead of returning views of `bytes` (default false). */
  copyBytes?: boolean;
}

function checkOffset(offset: number | undefined): number {
  const o = offset ?? 0;
  if (!Number.isInteger(o) || o < 0) throw new WireError('bad-value', `offset ${String(o)} is not a non-negative integer`);
  return o & 7;
}

/** Marshals `values` for `signature` into a fresh Buffer. Throws WireError. */
export function marshal(signature: string, values: unknown[], opts?: BodyOptions): Buffer {
  const encoders = bodyEncoders(signature);
  checkBody(signature, values, encoders);
  const shift = checkOffset(opts?.offset);
  const w = acquireWriter();
  try {
    // Start `shift` bytes after an 8-aligned origin, so padding falls where
    // it would at that offset in a message.
    w.begin(opts?.endian !== 'big', Infinity, shift);
    for (let i = 0; i < encoders.length; i++) encoders[i]!(w, values[i]);
    return w.finish(shift);
  } catch (e) {
    w.abandon();
    throw e;
  } finally {
    releaseWriter(w);
  }
}

/** Unmarshals exactly `bytes` as values of `signature`. Throws WireError. */
export function unmarshal(signature: string, bytes: Uint8Array, opts?: UnmarshalOptions): unknown[] {
  const decoders = bodyDecoders(signature);
  const buf = toBuffer(bytes);
  const shift = checkOffset(opts?.offset);
  // origin = -shift puts byte 0 at alignment position `shift`.
  const r = new Reader(buf, 0, buf.length, -shift, opts?.endian !== 'big');
  if (opts?.unixFds !== undefined) r.fdLimit = opts.unixFds;
  r.copyBytes = opts?.copyBytes === true;
  const out = new Array<unknown>(decoders.length);
  for (let i = 0; i < decoders.length; i++) out[i] = decoders[i]!(r);
  if (r.pos !== r.end) r.fail('bad-body-length', `${r.end - r.pos} bytes left over after the values`);
  return out;
}

/** A Buffer view of any Uint8Array, without copying. */
export function toBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (!(bytes instanceof Uint8Array)) throw new WireError('bad-value', 'input is not a Uint8Array');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
