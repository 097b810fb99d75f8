// The gateway server: a D-Bus bus socket whose stock clients are hosted by one ipnbus member.
import { createServer, createConnection, type Server } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { connect, defaultAddress, parseAddress, registerGateway, type Connection } from '../core/index.js';
import { parseListenAddress, type ListenAddress } from './address.js';
import { GatewayClient, type ClientContext } from './client.js';
import { NativeIO, NetIO, nativeAddon, nativeIOAvailable, type ClientIO } from './client-io.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
import { GatewayError } from './errors.js';
import { newServerGuid } from './guid.js';
import { MonitorHub } from './monitor.js';
import { DEFAULT_LIMITS, type GatewayLimits, type GatewayOptions } from './options.js';
import type { PeerCredentials } from './peercred.js';

export interface Gateway {
  /** The address to give stock clients (DBUS_SESSION_BUS_ADDRESS), with guid. */
  readonly address: string;
  /** The server GUID clients receive in the SASL OK line. */
  readonly guid: string;
  /** Clients currently connected (authenticating or registered). */
  readonly clientCount: number;
  /** The gateway's member on the bus (its own endpoint): every client is an endpoint it hosts. */
  readonly connection: Connection;
  /** Stop accepting, drop every client (and its bus membership), remove the socket file. */
  close(): Promise<void>;
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

/**
 * Node (20) binds an abstract name padded with NULs to the whole sun_path,
 * which no libdbus/GDBus/sd-bus client can reach. So abstract sockets are
 * bound by the addon with the exact length, and node listens on that fd.
 */
/**
 * Connections waiting to be accepted. A session starts many clients at
 * once, and clients that connect without blocking (dbus-next, node:net)
 * get EAGAIN, not a wait, when the queue is full: Node's default of 511
 * made 1 in 3 runs of 1,000 simultaneous connections fail. The kernel
 * caps it at net.core.somaxconn (4096 by default since Linux 5.4).
 */
const LISTEN_BACKLOG = 4096;

function abstractListenFd(name: string): number {
  const native = nativeAddon();
  if (native === null) {
    throw new GatewayError('ListenFailed', 'unix:abstract= needs the @ipnbus/native addon (node:net pads abstract names)');
  }
  const fd = native.socket(AF_UNIX, SOCK_STREAM, 0);
  try {
    native.bindUnix(fd, '\0' + name);
    native.listen(fd, LISTEN_BACKLOG);
  } catch (err) {
    native.close(fd);
    const code = (err as NodeJS.ErrnoException).code;
    throw new GatewayError(code === 'EADDRINUSE' ? 'AddressInUse' : 'ListenFailed', `cannot listen on unix:abstract=${name}: ${(err as Error).message}`, { cause: err });
  }
  return fd;
}

function listen(server: Server, addr: ListenAddress): Promise<void> {
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
    if (addr.kind === 'abstract') {
      try {
        server.listen({ fd: abstractListenFd(addr.name), backlog: LISTEN_BACKLOG });
      } catch (err) {
        server.off('error', onError);
        server.off('listening', onListening);
        reject(err);
      }
    } else {
      server.listen({ path: addr.netPath, backlog: LISTEN_BACKLOG });
    }
  });
}

/** Binds, replacing a stale socket file left by a dead gateway but never a live one. */
async function bindServer(server: Server, addr: ListenAddress): Promise<void> {
  try {
    await listen(server, addr);
    return;
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' || addr.kind !== 'path') {
      throw new GatewayError(code === 'EADDRINUSE' ? 'AddressInUse' : 'ListenFailed', `cannot listen on ${addr.dbusAddress}: ${(err as Error).message}`, { cause: err });
    }
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
    await listen(server, addr);
  } catch (err) {
    throw new GatewayError('ListenFailed', `cannot listen on ${addr.dbusAddress}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Start a gateway: stock D-Bus clients (gdbus, busctl, dbus-send,
 * dbus-monitor, dbus-next...) connect to `gateway.address` and join the
 * ipnbus bus at `busAddress` unchanged.
 */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const addr = parseListenAddress(opts.listen);
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
  const log: Logger = (opts.logger ?? pino({ name: 'ipnbus-gateway', level: process.env.IPNBUS_LOG || 'silent' }, pino.destination(2))).child({ component: 'gateway' });
  const guid = newServerGuid();
  const clients = new Set<GatewayClient>();
  const monitors = new MonitorHub(limits.maxMonitorBacklogBytes, log);
  const myUid = process.getuid?.() ?? 0;
  const ownCreds: PeerCredentials = { pid: process.pid, uid: myUid, gid: process.getgid?.() ?? 0 };
  // ONE member for all clients (DESIGN "Gateway"): a mesh node or an AF_IPN
  // socket, not one per client, so the bus costs the gateway O(clients).
  const member = await connect({
    ...(opts.busAddress !== undefined ? { address: opts.busAddress } : {}),
    ...(opts.backend !== undefined ? { backend: opts.backend } : {}),
    logger: log,
  });

  const ctx: ClientContext = {
    guid,
    limits,
    log,
    monitors,
    allowUid: (uid) => uid === myUid || uid === 0,
    hostClient(creds: PeerCredentials | undefined): Connection {
      return member.host(creds ?? ownCreds);
    },
    closed(client) {
      clients.delete(client);
    },
  };

  const useNative = opts.unixFds !== false && nativeIOAvailable();
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: true });
  server.on('connection', (socket) => {
    if (clients.size >= limits.maxClients) {
      log.warn({ clients: clients.size }, 'too many clients: connection refused');
      socket.destroy();
      return;
    }
    let io: ClientIO;
    try {
      io = useNative ? new NativeIO(socket) : new NetIO(socket);
    } catch (err) {
      log.warn({ err }, 'could not take over a client socket');
      socket.destroy();
      return;
    }
    clients.add(new GatewayClient(ctx, io));
  });
  server.on('error', (err) => log.error({ err }, 'gateway server error'));
  try {
    await bindServer(server, addr);
  } catch (err) {
    member.disconnect();
    throw err;
  }
  member.on('disconnect', () => log.info('the gateway left the bus'));
  if (addr.kind === 'path') {
    chmodSync(addr.name, opts.socketMode ?? 0o600);
  }
  log.info({ address: addr.dbusAddress, unixFds: useNative }, 'gateway listening');
  const address = `${addr.dbusAddress},guid=${guid}`;
  // Services started by activation find the bus through us (DBUS_SESSION_BUS_ADDRESS).
  let unregister: () => void = () => undefined;
  try {
    unregister = registerGateway(parseAddress(opts.busAddress ?? defaultAddress()).path, address);
  } catch (err) {
    log.warn({ err }, 'could not record the gateway address in the bus directory: activated services will not find it');
  }

  let closing: Promise<void> | undefined;
  return {
    address,
    guid,
    get clientCount() {
      return clients.size;
    },
    connection: member,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        unregister();
        server.close(() => resolve());
        for (const c of [...clients]) c.close('gateway closing', 'debug');
        member.disconnect();
        if (addr.kind === 'path') {
          try {
            unlinkSync(addr.name);
          } catch {
            // Already gone.
          }
        }
      });
      return closing;
    },
  };
}
