// What the gateway uses of @ipnbus/native: its listening socket, its clients' sockets and their SO_PEERCRED.
//
// node:net cannot pass unix fds (it reads with read(2), which drops
// SCM_RIGHTS), cannot read SO_PEERCRED, pads abstract socket names with
// NULs, and builds a stream object per accepted connection that the
// gateway would only take the fd from. The gateway drives client sockets
// with the addon when it is there, and falls back to node:net (no fd
// passing, credentials unknown) when it is not. Core reaches the addon
// through the transport; this module is the gateway's own socket layer
// (the exception the bus README's gateway section states). The addon is
// loaded once for the package by core/native.ts.
import { nativeModule } from '../core/native.js';
import type { PeerCredentials } from './peercred.js';

export interface NativePoller {
  start(fd: number, readable: boolean, writable: boolean, cb: (status: number, events: number) => void): void;
  stop(): void;
  close(): void;
}

/** What the gateway uses of the addon (its index.d.ts declares the same functions). */
export interface GatewayAddon {
  socket(domain: number, type: number, protocol: number): number;
  bindUnix(fd: number, path: string): void;
  listen(fd: number, backlog: number): void;
  /** New fd (non-blocking, close-on-exec), or -EAGAIN when none is pending. */
  accept(fd: number): number;
  close(fd: number): void;
  sendmsg(fd: number, parts: Uint8Array[], family: number, dest: null, fds: number[] | null, flags: number): number;
  /** Bytes, null (nothing to read) or an empty Buffer (hung up); fds pushed onto `fds` (index.d.ts). */
  recvStream(fd: number, maxBytes: number, fds: number[]): Buffer | null;
  peerCred(fd: number): PeerCredentials;
  Poller: new () => NativePoller;
}

const NEEDED = ['socket', 'bindUnix', 'listen', 'accept', 'close', 'sendmsg', 'recvStream', 'peerCred', 'Poller'] as const;

let addon: GatewayAddon | null | undefined;

/** The addon, or null when it is missing or lacks what the gateway needs (the gateway then uses node:net). */
export function gatewayAddon(): GatewayAddon | null {
  if (addon === undefined) {
    const a = nativeModule();
    addon = a !== null && NEEDED.every((k) => typeof a[k] === 'function') ? (a as unknown as GatewayAddon) : null;
  }
  return addon;
}
