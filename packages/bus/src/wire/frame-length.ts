// messageByteLength: a message's total size from its fixed header, for framing a byte stream.
import { WireError } from './errors.js';
import { BIG_ENDIAN_BYTE, LITTLE_ENDIAN_BYTE, MAX_ARRAY_LENGTH, MAX_MESSAGE_LENGTH, PROTOCOL_VERSION } from './limits.js';

/** Size of the fixed header plus the header-fields array length word. */
export const FIXED_HEADER_LENGTH = 16;

/**
 * Total length of the message starting at `offset`, read from its first 16
 * bytes; undefined when fewer than 16 are available. Throws WireError when
 * those bytes cannot start a message (bad endian byte or version, lengths
 * over the spec's limits), since a stream framed on them is lost.
 */
export function messageByteLength(bytes: Uint8Array, offset = 0): number | undefined {
  if (bytes.length - offset < FIXED_HEADER_LENGTH) return undefined;
  const e = bytes[offset];
  let le: boolean;
  if (e === LITTLE_ENDIAN_BYTE) le = true;
  else if (e === BIG_ENDIAN_BYTE) le = false;
  else throw new WireError('bad-endian', `endianness byte is 0x${(e ?? 0).toString(16)}, not 'l' or 'B'`, 0);
  if (bytes[offset + 3] !== PROTOCOL_VERSION) {
    throw new WireError('bad-version', `protocol version is ${bytes[offset + 3]}, not ${PROTOCOL_VERSION}`, 3);
  }
  const bodyLen = read32(bytes, offset + 4, le);
  const fieldsLen = read32(bytes, offset + 12, le);
  if (fieldsLen > MAX_ARRAY_LENGTH) {
    throw new WireError('too-long', `header fields array of ${fieldsLen} bytes is over the 64 MiB limit`, 12);
  }
  const total = FIXED_HEADER_LENGTH + ((fieldsLen + 7) & ~7) + bodyLen;
  if (total > MAX_MESSAGE_LENGTH) {
    throw new WireError('too-long', `message of ${total} bytes is over the 128 MiB limit`, 4);
  }
  return total;
}

function read32(b: Uint8Array, p: number, le: boolean): number {
  return le
    ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000
    : (b[p + 3]! | (b[p + 2]! << 8) | (b[p + 1]! << 16)) + b[p]! * 0x1000000;
}
