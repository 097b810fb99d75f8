// The fixed transport header that starts every datagram, on both backends.
// Layout (little-endian), 48 bytes; the kernel socket filter reads the bloom
// at BLOOM_OFFSET, so that offset is part of the contract:
//   0  u8[2] magic "IB"      2 u8 version (1)      3 u8 kind (Kind)
//   4  u32 dropped           messages the sender dropped for this receiver
//   8  u8[16] bloom          routing bloom; all ones = matches every filter
//  24  u64 seq               user backend: network-wide sequence number
//  32  u32 msgId             per-sender message counter (fragments share it)
//  36  u32 fragIndex         0-based
//  40  u32 fragCount         >= 1
//  44  u32 totalLen          whole message bytes (all fragments)
import { BLOOM_BYTES } from './network.js';

export const HEADER_BYTES = 48;
export const MAGIC0 = 0x49; // 'I'
export const MAGIC1 = 0x42; // 'B'
export const VERSION = 1;
export const KIND_OFFSET = 3;
export const DROPPED_OFFSET = 4;
export const BLOOM_OFFSET = 8;
export const SEQ_OFFSET = 24;
export const MSG_ID_OFFSET = 32;
export const FRAG_INDEX_OFFSET = 36;
export const FRAG_COUNT_OFFSET = 40;
export const TOTAL_LEN_OFFSET = 44;
/** The D-Bus limit, which the transport honours for whole messages. */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export const enum Kind {
  Broadcast = 1,
  Unicast = 2,
  /** User backend: first datagram on a mesh connection (id + filter). */
  Hello = 3,
  /** User backend: the sender's new filter masks. */
  Filter = 4,
  /**
   * Several broadcasts with one bloom in one datagram (user backend: one
   * sequence number, one send per receiver; kernel backend, lossless
   * networks: one send). Payload: per message a u32 (little-endian) length,
   * then its bytes. See batch.ts and turn.ts.
   */
  Batch = 5,
}

export interface Header {
  kind: Kind;
  dropped: number;
  seq: number;
  msgId: number;
  fragIndex: number;
  fragCount: number;
  totalLen: number;
}

const ALL_ONES = Buffer.alloc(BLOOM_BYTES, 0xff);

/** Writes a header into `h` (HEADER_BYTES long). */
export function writeHeader(h: Buffer, kind: Kind, bloom: Uint8Array | undefined, msgId: number,
  fragIndex: number, fragCount: number, totalLen: number): void {
  h[0] = MAGIC0;
  h[1] = MAGIC1;
  h[2] = VERSION;
  h[KIND_OFFSET] = kind;
  h.writeUInt32LE(0, DROPPED_OFFSET);
  h.set(bloom ?? ALL_ONES, BLOOM_OFFSET);
  h.writeUInt32LE(0, SEQ_OFFSET);
  h.writeUInt32LE(0, SEQ_OFFSET + 4);
  h.writeUInt32LE(msgId >>> 0, MSG_ID_OFFSET);
  h.writeUInt32LE(fragIndex >>> 0, FRAG_INDEX_OFFSET);
  h.writeUInt32LE(fragCount >>> 0, FRAG_COUNT_OFFSET);
  h.writeUInt32LE(totalLen >>> 0, TOTAL_LEN_OFFSET);
}

/** Parses a datagram's header; null when it is not one of ours. */
export function readHeader(b: Buffer): Header | null {
  if (b.length < HEADER_BYTES || b[0] !== MAGIC0 || b[1] !== MAGIC1 || b[2] !== VERSION) return null;
  const fragCount = b.readUInt32LE(FRAG_COUNT_OFFSET);
  const fragIndex = b.readUInt32LE(FRAG_INDEX_OFFSET);
  if (fragCount < 1 || fragIndex >= fragCount) return null;
  return {
    kind: b[KIND_OFFSET] as Kind,
    dropped: b.readUInt32LE(DROPPED_OFFSET),
    seq: readSeq(b),
    msgId: b.readUInt32LE(MSG_ID_OFFSET),
    fragIndex,
    fragCount,
    totalLen: b.readUInt32LE(TOTAL_LEN_OFFSET),
  };
}

/**
 * The kind of the datagram at b[off, off + len) when it is a whole plain
 * message by itself (our version, one fragment, Broadcast or Unicast), else
 * 0. The common case, which both backends deliver without parsing the
 * header into an object or reassembling anything.
 */
export function wholeMessageKind(b: Buffer, off: number, len: number): Kind.Broadcast | Kind.Unicast | 0 {
  if (len < HEADER_BYTES || b[off] !== MAGIC0 || b[off + 1] !== MAGIC1 || b[off + 2] !== VERSION) return 0;
  const kind = b[off + KIND_OFFSET];
  if (kind !== Kind.Broadcast && kind !== Kind.Unicast) return 0;
  if (b.readUInt32LE(off + FRAG_COUNT_OFFSET) !== 1 || b.readUInt32LE(off + FRAG_INDEX_OFFSET) !== 0) return 0;
  return kind;
}

/** The sequence number in a header (user backend). */
export function readSeq(b: Buffer): number {
  return b.readUInt32LE(SEQ_OFFSET) + b.readUInt32LE(SEQ_OFFSET + 4) * 2 ** 32;
}

/** The header's bloom, as a view. */
export function bloomOf(b: Buffer): Buffer {
  return b.subarray(BLOOM_OFFSET, BLOOM_OFFSET + BLOOM_BYTES);
}
