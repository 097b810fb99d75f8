// Credentials of the process at the other end of an accepted unix socket (SO_PEERCRED).
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** Signature of the addon's SO_PEERCRED getter, whatever it is called. */
type PeerCredFn = (fd: number) => PeerCredentials;

let getter: PeerCredFn | null | undefined;

/**
 * node:net cannot call getsockopt(), so SO_PEERCRED comes from the native
 * addon, applied to the accepted socket's fd. The kernel records the
 * credentials at connect() time, so they name the client process and cannot
 * be forged by what the client later sends (unlike the SASL EXTERNAL uid,
 * which is only checked against them).
 */
function loadGetter(): PeerCredFn | null {
  if (getter !== undefined) return getter;
  try {
    const require = createRequire(import.meta.url);
    const native = require('@ipnbus/native') as Record<string, unknown>;
    const fn = native.peerCredentials ?? native.getPeerCred ?? native.peerCred ?? native.getPeerCredentials;
    getter = typeof fn === 'function' ? (fn as PeerCredFn) : null;
  } catch {
    getter = null;
  }
  return getter;
}

/** The fd node:net holds for a socket (Linux: libuv exposes it on the handle). */
export function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** SO_PEERCRED of an accepted client socket's fd, or undefined if it cannot be read. */
export function peerCredentials(fd: number): PeerCredentials | undefined {
  const fn = loadGetter();
  if (fn === null) return undefined;
  try {
    const c = fn(fd);
    if (Number.isInteger(c.pid) && Number.isInteger(c.uid) && Number.isInteger(c.gid)) return c;
  } catch {
    // A socket already closed by the peer has nothing to report.
  }
  return undefined;
}
