// Credentials of the process at the other end of an accepted unix socket (SO_PEERCRED).
import type { Socket } from 'node:net';
import { gatewayAddon } from './native-addon.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The fd node:net holds for a socket (Linux: libuv exposes it on the handle). */
export function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * SO_PEERCRED of an accepted client socket's fd, or undefined if it cannot
 * be read (no addon: node:net has no getsockopt). The kernel records the
 * credentials at connect() time, so they name the client process and cannot
 * be forged by what the client later sends (unlike the SASL EXTERNAL uid,
 * which is only checked against them).
 */
export function peerCredentials(fd: number): PeerCredentials | undefined {
  const native = gatewayAddon();
  if (native === null) return undefined;
  try {
    const c = native.peerCred(fd);
    if (Number.isInteger(c.pid) && Number.isInteger(c.uid) && Number.isInteger(c.gid)) return c;
  } catch {
    // A socket already closed by the peer has nothing to report.
  }
  return undefined;
}
