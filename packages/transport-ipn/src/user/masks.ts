// The filter masks on the wire (user backend hello and filter messages):
// u32 LE count (0xffffffff: no filter, everything wanted), then each
// 16-byte mask. A member with many rules sends a long list; it travels in
// as many fragments as it needs, reassembled like any message.
import { BLOOM_BYTES } from '../network.js';

const NO_FILTER = 0xffffffff;

export function encodeMasks(masks: readonly Uint8Array[] | null): Buffer {
  const b = Buffer.alloc(4 + (masks?.length ?? 0) * BLOOM_BYTES);
  b.writeUInt32LE(masks === null ? NO_FILTER : masks.length, 0);
  masks?.forEach((m, i) => b.set(m, 4 + i * BLOOM_BYTES));
  return b;
}

/**
 * Decodes the list at `off`. Returns undefined when it is malformed (short,
 * or a count the bytes do not hold): the caller keeps what it had.
 */
export function decodeMasks(b: Buffer, off: number): Uint8Array[] | null | undefined {
  if (b.length < off + 4) return undefined;
  const n = b.readUInt32LE(off);
  if (n === NO_FILTER) return null;
  if (b.length !== off + 4 + n * BLOOM_BYTES) return undefined;
  const out: Uint8Array[] = new Array<Uint8Array>(n);
  for (let i = 0; i < n; i++) out[i] = Uint8Array.from(b.subarray(off + 4 + i * BLOOM_BYTES, off + 4 + (i + 1) * BLOOM_BYTES));
  return out;
}
