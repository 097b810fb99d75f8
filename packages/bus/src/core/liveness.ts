// Member liveness through the bus directory: each member holds a flock on live/<id> for its whole life.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { MemberInfo } from '@ipnbus/transport-ipn';
import { DBusError, ErrorNames } from './errors.js';
import { tryLock } from './flock.js';

/**
 * Why a lock per member and not only per name: a name changes hands
 * between processes (replacement, release, queue promotion) and flock
 * cannot be handed over, while "is the owner recorded in the name file
 * still alive?" can always be answered by probing the owner's member lock.
 * The kernel drops that lock when the process dies, SIGKILL included, so
 * a dead owner never blocks its names.
 */
export class LiveLock {
  readonly path: string;
  #fd: number | undefined;

  /** `content`: what the file says about the member (proxied credentials), if anything. */
  constructor(liveDir: string, id: bigint, content?: string) {
    this.path = join(liveDir, id.toString());
    // Lock a private file first and only then give it its public name: a
    // probe can never see the file unlocked while its member is alive.
    const tmp = join(liveDir, `.${id}.${process.pid}.${randomBytes(4).toString('hex')}`);
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      if (!tryLock(fd)) throw new DBusError(ErrorNames.Failed, `cannot lock ${tmp}`);
      // Readable whatever the umask: every member of a bus shared between
      // users must be able to open it to probe the lock.
      fs.fchmodSync(fd, 0o644);
      if (content !== undefined) fs.writeFileSync(fd, content);
      fs.renameSync(tmp, this.path);
    } catch (e) {
      fs.closeSync(fd);
      try { fs.unlinkSync(tmp); } catch { /* already gone */ }
      throw e;
    }
    this.#fd = fd;
  }

  /** Drops the lock (unlinking first, so no probe finds a stale file). */
  release(): void {
    if (this.#fd === undefined) return;
    try { fs.unlinkSync(this.path); } catch { /* bus directory removed */ }
    fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * Is member `id` alive? True while its lock is held. A lock found free
 * belongs to a dead member: its file is removed on the way.
 */
export function probeAlive(liveDir: string, id: bigint): boolean {
  const path = join(liveDir, id.toString());
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  try {
    if (!tryLock(fd)) return true;
    try { fs.unlinkSync(path); } catch { /* another prober was first */ }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Every member the bus directory says is alive: each live/<id> whose lock
 * is held, with the uid and gid that own the file (the pid is not on disk:
 * 0). Files found unlocked are removed on the way, as probeAlive() does.
 * Used to rebuild the membership when the transport lost events.
 */
export function liveMembers(liveDir: string): MemberInfo[] {
  const out: MemberInfo[] = [];
  for (const name of fs.readdirSync(liveDir)) {
    if (!/^\d{1,20}$/.test(name)) continue;
    let fd: number;
    try {
      fd = fs.openSync(join(liveDir, name), 'r');
    } catch {
      continue; // gone meanwhile, or not ours to read: the probe decides later
    }
    try {
      if (tryLock(fd)) {
        try { fs.unlinkSync(join(liveDir, name)); } catch { /* another prober was first */ }
        continue;
      }
      const st = fs.fstatSync(fd);
      out.push({ id: BigInt(name), pid: 0, uid: st.uid, gid: st.gid });
    } finally {
      fs.closeSync(fd);
    }
  }
  return out;
}
