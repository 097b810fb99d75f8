// The user backend's bus directory: what each file is and how members create,
// join and number themselves (ids from a counter updated under flock).
//
//   <dir>/              mode = the network's access control (default 0700)
//   <dir>/ipnbus.json   marker {"backend":"user","version":1,"lossless":bool}
//   <dir>/ipnbus.lock   flock'ed by every sender and joiner; holds two u64
//                       (host order): [0] last broadcast sequence number,
//                       [8] last member id handed out
//   <dir>/<id>.sock     each member's listening AF_UNIX SOCK_SEQPACKET socket
import { chmodSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync,
  writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import native from '@ipnbus/native';
import { TransportError, fromErrno } from '../errors.js';
import { makeParents } from '../make-parents.js';

export const MARKER = 'ipnbus.json';
export const LOCK = 'ipnbus.lock';
export const SOCK_RE = /^([0-9]+)\.sock$/;

export interface Marker {
  backend: 'user';
  version: 1;
  lossless: boolean;
}

export function sockPath(dir: string, id: bigint): string {
  return join(dir, `${id}.sock`);
}

/** Creates the directory network; false if someone else created it first. */
export function createUserNetwork(dir: string, mode: number, lossless: boolean): boolean {
  try {
    makeParents(dirname(dir));
  } catch (err) {
    throw fromErrno(err, `creating the parent of ${dir}`);
  }
  try {
    mkdirSync(dir, { mode });
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return false;
    throw fromErrno(err, `creating ${dir}`);
  }
  try {
    // mkdir honours umask; the network's mode is what the creator asked for.
    chmodSync(dir, mode);
    // Members need read+write on the lock file exactly when they may enter.
    const lockMode = 0o600 | (mode & 0o070 ? 0o060 : 0) | (mode & 0o007 ? 0o006 : 0);
    writeFileSync(join(dir, LOCK), Buffer.alloc(16), { mode: lockMode });
    chmodSync(join(dir, LOCK), lockMode);
    const marker: Marker = { backend: 'user', version: 1, lossless };
    // The marker appears last, atomically: joiners wait for it.
    const tmp = join(dir, `.${MARKER}.${process.pid}`);
    writeFileSync(tmp, JSON.stringify(marker), { mode: lockMode });
    chmodSync(tmp, lockMode);
    renameSync(tmp, join(dir, MARKER));
  } catch (err) {
    throw fromErrno(err, `initialising ${dir}`);
  }
  return true;
}

/** Reads the marker, waiting briefly for a creator that is still setting up. */
export async function readMarker(dir: string): Promise<Marker> {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      const m = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as Partial<Marker>;
      if (m.backend !== 'user' || m.version !== 1) {
        throw new TransportError('ERR_BAD_NETWORK', `${dir}: unsupported network marker`);
      }
      return { backend: 'user', version: 1, lossless: m.lossless !== false };
    } catch (err) {
      if (err instanceof TransportError) throw err;
      const code = (err as { code?: string }).code;
      if (code !== 'ENOENT' || Date.now() > deadline) {
        if (code === 'ENOENT') throw new TransportError('ERR_BAD_NETWORK', `${dir} is not an ipnbus network (no ${MARKER})`);
        throw fromErrno(err, `reading ${join(dir, MARKER)}`);
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function openLock(dir: string): number {
  try {
    return openSync(join(dir, LOCK), 'r+');
  } catch (err) {
    throw fromErrno(err, `joining ${dir}`);
  }
}

/** How long a joiner waits for the lock before giving up (a holder that is alive but stuck). */
export const LOCK_WAIT_MS = 25_000;

/**
 * Takes the lock without blocking the event loop: non-blocking attempts
 * with a growing pause (1 to 20 ms). Members hold it for one fan-out, so
 * the wait is short unless some process holds it on purpose.
 */
export async function lockPolling(fd: number, dir: string, timeoutMs = LOCK_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  while (native.flock(fd, native.constants.LOCK_EX! | native.constants.LOCK_NB!) !== 0) {
    if (Date.now() > deadline) {
      throw new TransportError('ETIMEDOUT', `${join(dir, LOCK)} held by another process for more than ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 20);
  }
}

/** One non-blocking attempt at the lock: true when taken. */
export function tryLock(fd: number): boolean {
  return native.flock(fd, native.constants.LOCK_EX! | native.constants.LOCK_NB!) === 0;
}

export function unlock(fd: number): void {
  native.flock(fd, native.constants.LOCK_UN!);
}

/** Hands out the next member id; the caller holds the lock. */
export function nextMemberId(lockFd: number): bigint {
  const b = Buffer.alloc(8);
  readSync(lockFd, b, 0, 8, 8);
  const id = b.readBigUInt64LE(0) + 1n;
  b.writeBigUInt64LE(id, 0);
  if (writeSync(lockFd, b, 0, 8, 8) !== 8) throw new TransportError('EIO', 'could not record the member id');
  return id;
}

export function isDirectory(path: string): boolean | null {
  try {
    return statSync(path).isDirectory();
  } catch {
    return null;
  }
}
