// What every send checks first (the message, a unicast's destination and
// fds), and how an outgoing message is cut into datagrams that each carry a
// full header.
import { HEADER_BYTES, Kind, MAX_MESSAGE_BYTES, writeHeader } from './header.js';
import { TransportError } from './errors.js';

export interface Datagram {
  /** [header, payload slice]; the header is a fresh 48-byte Buffer. */
  parts: Buffer[];
  bytes: number;
}

export function checkMessage(bytes: Uint8Array): Buffer {
  if (!(bytes instanceof Uint8Array)) throw new TransportError('ERR_INVALID_ARG', 'message must be a Uint8Array');
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new TransportError('EMSGSIZE', `message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Fds one message carries at most: the kernel's SCM_MAX_FD. */
export const MAX_FDS = 253;

/** Checks a unicast's destination and fds; returns the fds to pass, or null for none. */
export function checkUnicast(member: unknown, fds: unknown): number[] | null {
  if (typeof member !== 'bigint') throw new TransportError('ERR_INVALID_ARG', 'member must be a bigint id');
  if (fds === undefined) return null;
  if (!Array.isArray(fds) || fds.some((f) => !Number.isInteger(f) || (f as number) < 0)) {
    throw new TransportError('ERR_INVALID_ARG', 'fds must be an array of file descriptors');
  }
  if (fds.length > MAX_FDS) {
    throw new TransportError('ETOOMANYREFS', `${fds.length} fds: at most ${MAX_FDS} (SCM_MAX_FD) travel with one message`);
  }
  return fds.length > 0 ? (fds as number[]) : null;
}

/** Cuts `payload` into fragments of at most `fragPayload` bytes. */
export function fragment(kind: Kind, payload: Buffer, bloom: Uint8Array | undefined, msgId: number,
  fragPayload: number): Datagram[] {
  const count = Math.max(1, Math.ceil(payload.length / fragPayload));
  const out: Datagram[] = [];
  for (let i = 0; i < count; i++) {
    const h = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(h, kind, bloom, msgId, i, count, payload.length);
    const slice = payload.subarray(i * fragPayload, Math.min(payload.length, (i + 1) * fragPayload));
    out.push({ parts: slice.length > 0 ? [h, slice] : [h], bytes: HEADER_BYTES + slice.length });
  }
  return out;
}
