// connect(): join (or create) the bus at an address and return a Connection.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { open, type Network } from '@ipnbus/transport-ipn';
import { defaultAddress, parseAddress } from './address.js';
import { openBusDir, type BusDir } from './bus-dir.js';
import { Connection } from './connection.js';
import { DBusError, ErrorNames } from './errors.js';
import { lock } from './flock.js';
import { LiveLock } from './liveness.js';
import { logger, type Logger } from './logger.js';
import { formatProxiedCredentials, validProxiedCredentials, type ProxiedCredentials } from './proxied-credentials.js';

export interface ConnectOptions {
  /** 'ipnbus:path=/dir'; default $IPNBUS_ADDRESS, else ipnbus:path=$XDG_RUNTIME_DIR/ipnbus/session. */
  address?: string;
  /** Backend when creating the bus ('auto': kernel when ipn.ko is loaded); joiners follow the bus. */
  backend?: 'auto' | 'kernel' | 'user';
  /** Mode of a newly created bus (default 0o700): who may join. */
  mode?: number;
  logger?: Logger;
  /**
   * Credentials to report for this member instead of this process's: for a
   * gateway joining on behalf of a stock client (its SO_PEERCRED). Others
   * honour them only for the same uid, or any uid when we run as root.
   */
  credentials?: ProxiedCredentials;
}

/** Errors from the transport become DBusErrors a caller can branch on. */
function asDBusError(e: unknown, path: string): DBusError {
  if (e instanceof DBusError) return e;
  const err = e as NodeJS.ErrnoException;
  const code = err?.code;
  const name =
    code === 'EACCES' || code === 'EPERM'
      ? ErrorNames.AccessDenied
      : code === 'ENOENT' || code === 'ECONNREFUSED'
        ? ErrorNames.ServiceUnknown
        : code === 'ERR_NO_KERNEL'
          ? ErrorNames.NotSupported
          : ErrorNames.Failed;
  const out = new DBusError(name, `cannot connect to the bus at ${path}: ${err?.message ?? String(e)}`);
  (out as { cause?: unknown }).cause = e;
  return out;
}

/**
 * Opens the bus's network. An AF_IPN node whose members have all gone
 * refuses connections (ECONNREFUSED) but stays in the file system: the
 * network is dead and a new one must be made in its place. Replacing it is
 * done under the bus directory's `bus.lock`, so two members arriving at a
 * dead bus together cannot each make their own network (the second finds
 * the first one's node alive and joins it).
 */
async function openNetwork(dir: BusDir, backend: 'auto' | 'kernel' | 'user', mode: number): Promise<Network> {
  const opts = { backend, mode, credentials: true };
  try {
    return await open(dir.networkPath, opts);
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code !== 'ECONNREFUSED') throw e;
  }
  const fd = fs.openSync(join(dir.path, 'bus.lock'), fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o644);
  try {
    await lock(fd);
    try {
      return await open(dir.networkPath, opts);
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code !== 'ECONNREFUSED') throw e;
      logger.debug({ path: dir.networkPath }, 'replacing a dead network');
      fs.rmSync(dir.networkPath, { force: true });
      return await open(dir.networkPath, opts);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Connects to the bus, creating it (mode 0700 unless told) if absent. */
export async function connect(opts: ConnectOptions = {}): Promise<Connection> {
  const { path } = parseAddress(opts.address ?? defaultAddress());
  const mode = opts.mode ?? 0o700;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new DBusError(ErrorNames.InvalidArgs, `mode must be a permission mode (0..0o777), got ${mode}`);
  }
  if (opts.credentials !== undefined && !validProxiedCredentials(opts.credentials)) {
    throw new DBusError(ErrorNames.InvalidArgs, 'credentials must be { pid, uid, gid } as uint32 values');
  }
  // The bus directory first: it holds the network (dir.networkPath) beside
  // the core's own files, and its mode is the bus's access control.
  const dir = openBusDir(path, mode);
  let network: Network;
  try {
    network = await openNetwork(dir, opts.backend ?? 'auto', mode);
  } catch (e) {
    throw asDBusError(e, path);
  }
  let live: LiveLock | undefined;
  try {
    const creds = opts.credentials;
    live = new LiveLock(dir.liveDir, network.id, creds === undefined ? undefined : formatProxiedCredentials(creds));
    const conn = new Connection({
      network,
      dir,
      live,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(creds ? { credentials: creds } : {}),
    });
    // Every member present now knows us: its next broadcasts reach us.
    await conn.settle();
    return conn;
  } catch (e) {
    live?.release();
    network.close();
    throw asDBusError(e, path);
  }
}
