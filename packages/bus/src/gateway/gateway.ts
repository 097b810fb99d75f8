// The gateway server: a D-Bus bus socket whose stock clients are hosted by one ipnbus member.
import { chmodSync, unlinkSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { connect, defaultAddress, parseAddress, registerGateway, type Connection } from '../core/index.js';
import { parseListenAddress } from './address.js';
import { GatewayClient, type ClientContext } from './client.js';
import { listenForClients, type Listener } from './listener.js';
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
    hostClient(creds: PeerCredentials | undefined, beforeAnnounce?: (ep: Connection) => void): Connection {
      return member.host(creds ?? ownCreds, beforeAnnounce);
    },
    closed(client) {
      clients.delete(client);
    },
  };

  const native = opts.unixFds !== false;
  let listener: Listener;
  try {
    listener = await listenForClients(addr, {
      native,
      log,
      admit() {
        if (clients.size < limits.maxClients) return true;
        log.warn({ clients: clients.size }, 'too many clients: connection refused');
        return false;
      },
      accepted(io) {
        clients.add(new GatewayClient(ctx, io));
      },
    });
  } catch (err) {
    member.disconnect();
    throw err;
  }
  member.on('disconnect', () => log.info('the gateway left the bus'));
  if (addr.kind === 'path') {
    chmodSync(addr.name, opts.socketMode ?? 0o600);
  }
  log.info({ address: addr.dbusAddress }, 'gateway listening');
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
        listener.close();
        for (const c of [...clients]) c.close('gateway closing', 'debug');
        member.disconnect();
        if (addr.kind === 'path') {
          try {
            unlinkSync(addr.name);
          } catch {
            // Already gone.
          }
        }
        resolve();
      });
      return closing;
    },
  };
}
