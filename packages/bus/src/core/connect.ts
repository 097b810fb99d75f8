// connect(): join (or create) the bus at an address and return a Connection.
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { open, type Network } from '@ipnbus/transport-ipn';
import { defaultAddress, parseAddress } from './address.js';
import { nextGeneration, openBusDir, readGeneration, withGeneration, type BusDir } from './bus-dir.js';
import type { Connection } from './connection.js';
import { Member } from './member.js';
import { DBusError, ErrorNames } from './errors.js';
import { lock } from './flock.js';
import { fromTransport } from './transport-errors.js';
import { ensurePrivateDir, fallbackRuntimeDir } from './runtime-dir.js';
import { resolveLimits, type ConnectionLimits } from './limits.js';
import { LiveLock } from './liveness.js';
import { ONLY_BLOOMLESS } from './match-set.js';
import { logger, type Logger } from './logger.js';
import type { ActivationOptions } from './activation/index.js';
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
  /**
   * Per-connection limits; each omitted one keeps its default: dbus-daemon's
   * session value for names, match rules and pending calls (50,000 each),
   * 16 MiB per stopped receiver (peerQueueBytes) and 256 MiB of unfinished
   * fragmented messages (reassemblyBytes). See limits.ts.
   */
  limits?: Partial<ConnectionLimits>;
  /** Service activation: { enabled: false } to never start services from this connection; extra serviceDirs. */
  activation?: ActivationOptions;
}

/** Errors from the transport become DBusErrors a caller can branch on. */
function asDBusError(e: unknown, path: string): DBusError {
  return fromTransport(e, 'connect', `cannot connect to the bus at ${path}`);
}

/**
 * Opens the bus's network and says which generation it is. An AF_IPN node
 * whose members have all gone refuses connections (ECONNREFUSED) but stays
 * in the file system: the network is dead and a new one must be made in its
 * place. Joining a live network needs no lock; creating or replacing one is
 * done only under the bus directory's `bus.lock`, so members arriving at a
 * dead bus together cannot race to unlink each other's fresh node (the
 * transport's own replacement is not atomic) and each generation is counted
 * once. A member of a live network cannot see it replaced, so the
 * generation read after joining is the one it joined.
 */
async function openNetwork(dir: BusDir, backend: 'auto' | 'kernel' | 'user', mode: number,
  limits: ConnectionLimits): Promise<{ network: Network; dir: BusDir }> {
  // Filtered from the moment we join, as a member with no rules yet:
  // otherwise signals sent before our first AddMatch would queue up for us
  // unfiltered and arrive after later ones were already filtered out.
  const opts = {
    backend,
    mode,
    credentials: true,
    filter: [ONLY_BLOOMLESS],
    peerQueueBytes: limits.peerQueueBytes,
    reassemblyBytes: limits.reassemblyBytes,
  };
  const joined = (network: Network): { network: Network; dir: BusDir } => {
    try {
      return { network, dir: withGeneration(dir, readGeneration(dir.path)) };
    } catch (e) {
      network.close();
      throw e;
    }
  };
  const absent = (e: unknown): boolean => {
    const code = (e as NodeJS.ErrnoException)?.code;
    return code === 'ECONNREFUSED' || code === 'ENOENT';
  };
  try {
    return joined(await open(dir.networkPath, { ...opts, create: false }));
  } catch (e) {
    if (!absent(e)) throw e;
  }
  const lockPath = join(dir.path, 'bus.lock');
  const fd = fs.openSync(lockPath, fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o644);
  try {
    await lock(fd, lockPath);
    try {
      return joined(await open(dir.networkPath, { ...opts, create: false }));
    } catch (e) {
      if (!absent(e)) throw e;
    }
    let replacing = false;
    try {
      // Only a kernel node dies; a user-backend mesh directory is never replaced.
      if (!fs.statSync(dir.networkPath).isSocket()) return joined(await open(dir.networkPath, opts));
      replacing = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code !== 'ENOENT') throw e;
    }
    if (replacing) logger.debug({ path: dir.networkPath }, 'replacing a dead network');
    const generation = nextGeneration(dir, replacing);
    fs.rmSync(dir.networkPath, { force: true });
    const network = await open(dir.networkPath, opts);
    return { network, dir: withGeneration(dir, generation) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Connects to the bus, creating it (mode 0700 unless told) if absent. */
export async function connect(opts: ConnectOptions = {}): Promise<Connection> {
  const { path } = parseAddress(opts.address ?? defaultAddress());
  // A bus in the fallback runtime directory (in a shared /tmp) only if that
  // directory is ours alone, whoever named the address.
  if (dirname(path) === fallbackRuntimeDir()) ensurePrivateDir(dirname(path));
  const mode = opts.mode ?? 0o700;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new DBusError(ErrorNames.InvalidArgs, `mode must be a permission mode (0..0o777), got ${mode}`);
  }
  const limits = resolveLimits(opts.limits);
  if (opts.credentials !== undefined && !validProxiedCredentials(opts.credentials)) {
    throw new DBusError(ErrorNames.InvalidArgs, 'credentials must be { pid, uid, gid } as uint32 values');
  }
  // The bus directory first: it holds the network (dir.networkPath) beside
  // the core's own files, and its mode is the bus's access control.
  let dir = openBusDir(path, mode);
  let network: Network;
  try {
    ({ network, dir } = await openNetwork(dir, opts.backend ?? 'auto', mode, limits));
  } catch (e) {
    throw asDBusError(e, path);
  }
  let live: LiveLock | undefined;
  try {
    const creds = opts.credentials;
    live = new LiveLock(dir.liveDir, network.id, creds === undefined ? undefined : formatProxiedCredentials(creds));
    const conn = new Member({
      network,
      dir,
      live,
      limits,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(creds ? { credentials: creds } : {}),
      ...(opts.activation ? { activation: opts.activation } : {}),
    }).own;
    // Every member present now knows us: its next broadcasts reach us.
    await conn.settle();
    return conn;
  } catch (e) {
    live?.release();
    network.close();
    throw asDBusError(e, path);
  }
}
