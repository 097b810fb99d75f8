// Joining the user backend's mesh: take an id, listen on <id>.sock, and
// connect to every member already there, all under the network lock so that
// the sockets seen are exactly the membership (see layout.ts). UserNetwork
// takes over what this returns.
import { chmodSync, fstatSync, readdirSync, unlinkSync } from 'node:fs';
import native from '@ipnbus/native';
import type { Credentials } from '../network.js';
import { fromErrno } from '../errors.js';
import { closeQuietly } from '../fds.js';
import { createHoldFile, removeHoldFile, type HoldWords } from './hold.js';
import { SOCK_RE, lockPolling, nextMemberId, openLock, readMarker, sockPath, unlock } from './layout.js';

const AF_UNIX = native.constants.AF_UNIX!;
const SOCK_SEQPACKET = native.constants.SOCK_SEQPACKET!;
const LISTEN_BACKLOG = 4096;

/** A member that has entered the mesh: its id, its sockets and the members it reached. */
export interface Entry {
  id: bigint;
  lossless: boolean;
  lockFd: number;
  listenFd: number;
  epfd: number;
  holds: HoldWords;
  connected: { fd: number; id: bigint; creds: Credentials }[];
}

/** Enters the mesh at `dir` (the directory exists and carries the marker). */
export async function enterMesh(dir: string): Promise<Entry> {
  const marker = await readMarker(dir);
  const lockFd = openLock(dir);
  let listenFd = -1;
  let epfd = -1;
  let id = 0n;
  const connected: Entry['connected'] = [];
  try {
    listenFd = native.socket(AF_UNIX, SOCK_SEQPACKET, 0);
    epfd = native.epollCreate();
    const later: bigint[] = [];
    let holds: HoldWords;
    // Under the lock no broadcast is in flight and no other member is
    // joining, so the set of sockets we see is exactly the membership.
    // Waited for on the event loop: this process may be a member already.
    await lockPolling(lockFd, dir);
    try {
      id = nextMemberId(lockFd);
      // Peers that find our socket can hold messages for us at once.
      holds = createHoldFile(dir, id, fstatSync(lockFd).mode & 0o777);
      const mine = sockPath(dir, id);
      native.bindUnix(listenFd, mine);
      // Access control is the directory's mode; the socket itself must not
      // narrow it (bind applies umask).
      chmodSync(mine, 0o777);
      native.listen(listenFd, LISTEN_BACKLOG);
      native.epollAdd(epfd, listenFd, true);
      for (const name of readdirSync(dir)) {
        const m = SOCK_RE.exec(name);
        if (m === null) continue;
        const peerId = BigInt(m[1]!);
        if (peerId === id) continue;
        const r = connectPeer(dir, peerId);
        if (r === 'later') later.push(peerId);
        else if (r !== null) connected.push({ ...r, id: peerId });
      }
    } finally {
      unlock(lockFd);
    }
    // A listener whose backlog was full: retry outside the lock (its owner
    // needs its event loop, which the lock would stall).
    for (const peerId of later) {
      for (let attempt = 0; attempt < 100; attempt++) {
        await new Promise((r) => setTimeout(r, 20));
        const r = connectPeer(dir, peerId);
        if (r === 'later') continue;
        if (r !== null) connected.push({ ...r, id: peerId });
        break;
      }
    }
    return { id, lossless: marker.lossless, lockFd, listenFd, epfd, holds, connected };
  } catch (err) {
    leaveMesh(dir, { id, lockFd, listenFd, epfd, connected });
    throw fromErrno(err, `joining ${dir}`);
  }
}

/** Undoes enterMesh for a member that did not get to run. */
export function leaveMesh(dir: string, e: Pick<Entry, 'id' | 'lockFd' | 'listenFd' | 'epfd' | 'connected'>): void {
  for (const c of e.connected) closeQuietly(c.fd);
  if (e.listenFd >= 0) closeQuietly(e.listenFd);
  if (e.epfd >= 0) closeQuietly(e.epfd);
  closeQuietly(e.lockFd);
  if (e.id === 0n) return;
  removeHoldFile(dir, e.id);
  try {
    unlinkSync(sockPath(dir, e.id));
  } catch {
    // Never bound.
  }
}

/** Connects to a member's listener: fd + its creds, null if it is dead. */
function connectPeer(dir: string, id: bigint): { fd: number; creds: Credentials } | 'later' | null {
  const path = sockPath(dir, id);
  const fd = native.socket(AF_UNIX, SOCK_SEQPACKET, 0);
  try {
    const r = native.connectUnix(fd, path);
    if (r < 0) {
      closeQuietly(fd);
      return 'later';
    }
    return { fd, creds: native.peerCred(fd) };
  } catch (err) {
    closeQuietly(fd);
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED') {
      // Its owner died without cleaning up (SIGKILL): ids are never
      // reused, so nobody else can want this name.
      try {
        unlinkSync(path);
      } catch {
        // Another joiner removed it first.
      }
      removeHoldFile(dir, id);
      return null;
    }
    if (code === 'ENOENT') return null;
    throw err;
  }
}
