// Byte I/O on one client socket, as the gateway's client sees it; and its node:net form, used when the addon is missing.
//
// node:net reads with read(2), which throws away SCM_RIGHTS: a client that
// sends a unix fd would lose it. So when the addon is there, the gateway
// accepts and drives client sockets with it (native-io.ts); NetIO is the
// fallback without fd passing. Both emit 'data' (chunk, fds), 'end' (peer
// hung up) and 'error'.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { closeFds } from '../core/index.js';
import { socketFd } from './peercred.js';

export interface ClientIOEvents {
  data: [Buffer, number[]];
  end: [];
  error: [NodeJS.ErrnoException];
}

export interface ClientIO extends EventEmitter<ClientIOEvents> {
  /** Can fds travel with writes and arrive with 'data'? */
  readonly supportsFds: boolean;
  /** The socket's fd (for SO_PEERCRED). */
  readonly fd: number | undefined;
  /** Bytes accepted by write() that the kernel has not taken yet. */
  readonly writableLength: number;
  /** Queue bytes; `fds` go with their first byte and are closed here once sent. */
  write(data: Buffer, fds?: number[]): void;
  pause(): void;
  resume(): void;
  /** Send what is queued (best effort), then close. */
  end(): void;
  /** Close now, dropping anything queued. */
  destroy(): void;
}

/** node:net: no fd passing. */
export class NetIO extends EventEmitter<ClientIOEvents> implements ClientIO {
  readonly supportsFds = false;
  readonly fd: number | undefined;

  constructor(private readonly socket: Socket) {
    super();
    this.fd = socketFd(socket);
    socket.on('data', (d: Buffer) => this.emit('data', d, []));
    socket.on('end', () => this.emit('end'));
    socket.on('close', () => this.emit('end'));
    socket.on('error', (e: NodeJS.ErrnoException) => this.emit('error', e));
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  write(data: Buffer, fds?: number[]): void {
    closeFds(fds ?? []);
    if (!this.socket.destroyed) this.socket.write(data);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
