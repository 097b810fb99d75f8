// The gateway's listening socket: bound (taking over a dead gateway's socket file, never a live one's), each accepted client handed on as a ClientIO.
//
// With the addon the socket is the addon's own and accept4(2) hands over
// a non-blocking fd, which the client's NativeIO drives: no node:net
// stream per connection, no dup and close to take its fd over (a fifth of
// the gateway's CPU per connection went there). Without it, node:net
// listens and NetIO wraps its sockets (no fd passing).
import { createConnection, createServer, type Server } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ListenAddress } from './address.js';
import { NetIO, type ClientIO } from './client-io.js';
import { GatewayError } from './errors.js';
import { gatewayAddon, type GatewayAddon } from './native-addon.js';
import { NativeIO } from './native-io.js';

/**
 * Connections waiting to be accepted. A session starts many clients at
 * once, and clients that connect without blocking (dbus-next, node:net)
 * get EAGAIN, not a wait, when the queue is full: Node's default of 511
 * made 1 in 3 runs of 1,000 simultaneous connections fail. The kernel
 * caps it at net.core.somaxconn (4096 by default since Linux 5.4).
 */
const LISTEN_BACKLOG = 4096;
/** Connections accepted per readiness callback, so a flood cannot hold the loop. */
const ACCEPT_BATCH = 64;
/** After EMFILE/ENFILE, how long accepting pauses (the pending connection stays queued). */
const FD_PRESSURE_PAUSE_MS = 100;
const AF_UNIX = 1;
const SOCK_STREAM = 1;

export interface Listener {
  /** Stop accepting and close the listening socket (the socket file is the caller's). */
  close(): void;
}

export interface ListenOptions {
  /** Drive clients with the addon (fd passing, no node:net stream); else node:net. */
  native: boolean;
  log: Logger;
  /** A new client, now the caller's. */
  accepted(io: ClientIO): void;
  /** May another client be taken now? (no: the connection is closed at once) */
  admit(): boolean;
}

/** Is something answering on this unix socket path? (a stale file is not) */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function listenError(addr: ListenAddress, err: unknown): GatewayError {
  const code = (err as NodeJS.ErrnoException).code;
  return new GatewayError(code === 'EADDRINUSE' ? 'AddressInUse' : 'ListenFailed', `cannot listen on ${addr.dbusAddress}: ${(err as Error).message}`, { cause: err });
}

/**
 * Binds with `attempt`, replacing a stale socket file left by a dead
 * gateway but never a live one (nor a file that is not a socket).
 */
async function bindOrReplaceStale<T>(addr: ListenAddress, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || addr.kind !== 'path') throw listenError(addr, err);
  }
  let isSocket = false;
  try {
    isSocket = lstatSync(addr.name).isSocket();
  } catch {
    // Vanished meanwhile: just retry.
  }
  if (isSocket && (await socketAlive(addr.name))) {
    throw new GatewayError('AddressInUse', `${addr.dbusAddress} is in use by a live server`);
  }
  if (!isSocket) {
    throw new GatewayError('AddressInUse', `${addr.name} exists and is not a socket; not removing it`);
  }
  unlinkSync(addr.name);
  try {
    return await attempt();
  } catch (err) {
    throw listenError(addr, err);
  }
}

/** socket, bind (abstract names with their exact length: node:net pads them), listen. */
function nativeListenFd(native: GatewayAddon, addr: ListenAddress): number {
  const fd = native.socket(AF_UNIX, SOCK_STREAM, 0);
  try {
    native.bindUnix(fd, addr.kind === 'abstract' ? '\0' + addr.name : addr.name);
    native.listen(fd, LISTEN_BACKLOG);
  } catch (err) {
    native.close(fd);
    throw err;
  }
  return fd;
}

function listenNative(native: GatewayAddon, fd: number, opts: ListenOptions): Listener {
  const poller = new native.Poller();
  let closed = false;
  let paused: NodeJS.Timeout | undefined;
  const onReady = (status: number): void => {
    if (closed) return;
    if (status < 0) {
      // The listening socket itself failed: libuv would report it on
      // every turn. Stop watching it; clients already accepted go on.
      opts.log.error({ errno: status }, 'gateway listening socket failed: no more clients are accepted');
      poller.stop();
      return;
    }
    for (let i = 0; i < ACCEPT_BATCH; i++) {
      let cfd: number;
      try {
        cfd = native.accept(fd);
      } catch (err) {
        // EMFILE/ENFILE/ENOBUFS: the connection stays queued; try again
        // shortly rather than spin on a socket that stays readable.
        opts.log.warn({ err }, 'cannot accept a client now: pausing accepts');
        poller.stop();
        paused = setTimeout(() => {
          paused = undefined;
          if (!closed) poller.start(fd, true, false, onReady);
        }, FD_PRESSURE_PAUSE_MS);
        return;
      }
      if (cfd < 0) return;
      if (!opts.admit()) {
        native.close(cfd);
        continue;
      }
      opts.accepted(new NativeIO(native, cfd));
    }
  };
  poller.start(fd, true, false, onReady);
  return {
    close() {
      if (closed) return;
      closed = true;
      if (paused !== undefined) clearTimeout(paused);
      poller.close();
      native.close(fd);
    },
  };
}

function netListen(server: Server, addr: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if (addr.kind === 'path') {
      server.listen({ path: addr.netPath, backlog: LISTEN_BACKLOG });
      return;
    }
    // node:net pads an abstract name with NULs to the whole sun_path, which
    // no libdbus/GDBus/sd-bus client can reach: the addon binds it.
    const native = gatewayAddon();
    if (native === null) {
      throw new GatewayError('ListenFailed', 'unix:abstract= needs the @ipnbus/native addon (node:net pads abstract names)');
    }
    server.listen({ fd: nativeListenFd(native, addr), backlog: LISTEN_BACKLOG });
  });
}

async function listenNet(addr: ListenAddress, opts: ListenOptions): Promise<Listener> {
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: true });
  server.on('connection', (socket) => {
    if (!opts.admit()) {
      socket.destroy();
      return;
    }
    opts.accepted(new NetIO(socket));
  });
  server.on('error', (err) => opts.log.error({ err }, 'gateway server error'));
  await bindOrReplaceStale(addr, () => netListen(server, addr));
  return { close: () => server.close() };
}

/** Listens on `addr` and hands each accepted client to `opts.accepted`. Throws GatewayError. */
export async function listenForClients(addr: ListenAddress, opts: ListenOptions): Promise<Listener> {
  const native = opts.native ? gatewayAddon() : null;
  if (native === null) return listenNet(addr, opts);
  const fd = await bindOrReplaceStale(addr, async () => nativeListenFd(native, addr));
  return listenNative(native, fd, opts);
}
