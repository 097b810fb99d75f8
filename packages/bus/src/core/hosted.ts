// Clients a member hosts (a gateway's stock clients): their entries in the bus directory, the trust rule, their announcements.
//
// A host gives each client a unique name ':<generation>.<host id>.<n>'
// (unique-name.ts). The rest of the bus learns of it twice over: a
// broadcast record when it joins or leaves (announce.ts), and an entry
// live/<host id>.<n>, a symbolic link whose target text holds the
// credentials the host vouches for, which a newcomer reads with the names
// directory at connect. The entry is made before the join record and
// removed before the leave record, so a newcomer that reads the directory
// between the two cannot bring a gone client back. Entries of a dead host
// are removed by whoever finds them.
//
// Trust: the transport verifies the host (its member id and kernel-stamped
// uid), never its clients. A host may vouch for credentials of its own uid
// only, or of any uid when it runs as root (as dbus-daemon, which runs as
// the bus's user, reports its clients' SO_PEERCRED). Credentials breaking
// the rule are not believed: the client is reported with its host's. A
// host can only name clients under its own member id, so no member can
// speak for another member's clients.
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Message } from '../wire/index.js';
import { parseHostedRecord } from './announce.js';
import type { BusView, EndpointCredentials } from './bus-view.js';
import { probeAlive } from './liveness.js';
import { MAX_SUB_ID, endpointId, memberOf } from './unique-name.js';

const HOSTED_FILE = /^(\d{1,20})\.(\d{1,10})$/;

/** The credentials a host of uid `hostUid` may vouch for: `claimed`, or undefined when the rule above refuses them. */
export function vouched(hostUid: number, claimed: EndpointCredentials | undefined): EndpointCredentials | undefined {
  if (claimed === undefined) return undefined;
  return hostUid === 0 || claimed.uid === hostUid ? claimed : undefined;
}

function hostedPath(liveDir: string, host: bigint, sub: number): string {
  // Not path.join: liveDir is already normal, and this runs twice per client.
  return `${liveDir}/${host}.${sub}`;
}

/** Records client `sub` of `host` in the bus directory, with the credentials it is vouched for. */
export function writeHostedFile(liveDir: string, host: bigint, sub: number, creds: EndpointCredentials): void {
  // The record is a symbolic link whose target text is 'pid.uid.gid' (not
  // a path; nothing follows it): one symlink() makes it whole at once, so
  // no reader sees it half-written, and its lstat() owner is the host's
  // uid as a file's would be. A file written and renamed into place took
  // four system calls per client (26-33 us with its removal, against
  // 10-14 us for a link, on tmpfs).
  const path = hostedPath(liveDir, host, sub);
  const target = `${creds.pid}.${creds.uid}.${creds.gid}`;
  try {
    fs.symlinkSync(target, path);
  } catch (err) {
    // Only this host ever writes client `sub`'s record (member ids are
    // never reused in a generation): one left here is its own, from a
    // client whose removal failed.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    fs.unlinkSync(path);
    fs.symlinkSync(target, path);
  }
}

export function removeHostedFile(liveDir: string, host: bigint, sub: number): void {
  try {
    fs.unlinkSync(hostedPath(liveDir, host, sub));
  } catch {
    // Already gone (the bus directory was removed, or a prober cleaned up).
  }
}

const CREDS_TARGET = /^(\d{1,10})\.(\d{1,10})\.(\d{1,10})$/;

function readCreds(path: string): { creds: EndpointCredentials | undefined; fileUid: number } | undefined {
  let st: fs.Stats;
  let target: string;
  try {
    st = fs.lstatSync(path);
    if (!st.isSymbolicLink()) return undefined;
    target = fs.readlinkSync(path);
  } catch {
    return undefined; // gone, or replaced between the two calls
  }
  const m = CREDS_TARGET.exec(target);
  const ids = m === null ? [] : [m[1]!, m[2]!, m[3]!].map(Number);
  const creds = ids.length === 3 && ids.every((n) => n <= 0xffffffff) ? { pid: ids[0]!, uid: ids[1]!, gid: ids[2]! } : undefined;
  return { creds, fileUid: st.uid };
}

/** Is client `sub` of `host` alive: its entry there and its host's member lock held? */
export function probeHosted(liveDir: string, host: bigint, sub: number): boolean {
  let present: boolean;
  try {
    present = fs.lstatSync(hostedPath(liveDir, host, sub)).isSymbolicLink();
  } catch {
    present = false;
  }
  return present && probeAlive(liveDir, host);
}

/**
 * Every hosted client the bus directory lists under a live host, with the
 * credentials the rule above lets us believe (the entry's owner stands for
 * the host's uid). Entries of dead hosts are removed on the way.
 */
export function scanHosted(liveDir: string): Array<{ id: bigint; creds: EndpointCredentials | undefined }> {
  const out: Array<{ id: bigint; creds: EndpointCredentials | undefined }> = [];
  const alive = new Map<bigint, boolean>();
  for (const name of fs.readdirSync(liveDir)) {
    const m = HOSTED_FILE.exec(name);
    if (m === null) continue;
    const host = BigInt(m[1]!);
    const sub = Number(m[2]);
    if (sub < 1 || sub > MAX_SUB_ID) continue;
    let up = alive.get(host);
    if (up === undefined) {
      try {
        up = probeAlive(liveDir, host);
      } catch {
        up = true; // not ours to probe: the host's leave will tell
      }
      alive.set(host, up);
    }
    const path = join(liveDir, name);
    if (!up) {
      try { fs.unlinkSync(path); } catch { /* another prober was first */ }
      continue;
    }
    const read = readCreds(path);
    if (read !== undefined) out.push({ id: endpointId(host, sub), creds: vouched(read.fileUid, read.creds) });
  }
  return out;
}

/** What the bus directory says client `sub` of `host` is vouched for (undefined: no entry, or refused by the rule). */
export function readHosted(liveDir: string, host: bigint, sub: number): EndpointCredentials | undefined {
  const read = readCreds(hostedPath(liveDir, host, sub));
  return read === undefined ? undefined : vouched(read.fileUid, read.creds);
}

/**
 * SENDER of a message from member `from`: its unique name, whatever the
 * message claims, except a client's sub-id its host vouches for (a name
 * ':<g>.<from>.<n>' the view knows or the bus directory lists): a member
 * can speak for its own clients, never for another member or its clients.
 */
export function stampSender(view: BusView, from: bigint, claimed: string | undefined): string {
  const base = view.uniqueNameOf(from);
  if (claimed === undefined || claimed.length <= base.length + 1 || !claimed.startsWith(base) || claimed[base.length] !== '.') {
    return base;
  }
  const id = view.endpointOf(claimed);
  return id !== undefined && memberOf(id) === from && view.reachable(id) ? claimed : base;
}

/**
 * Member `from`'s record of its clients joining or leaving, believed for
 * its own clients only; `left` applies a leave. The credentials are
 * checked against the host's kernel-stamped uid, or, for a host whose
 * join the transport has not delivered yet, against the client's entry.
 */
export function applyHostedRecord(view: BusView, liveDir: string, from: bigint, msg: Message, left: (id: bigint) => void): void {
  const rec = parseHostedRecord(msg);
  if (rec === undefined) return;
  const host = view.member(from);
  for (const e of rec.entries) {
    const id = endpointId(from, e.sub);
    if (!rec.present) {
      left(id);
      continue;
    }
    const creds = { pid: e.pid, uid: e.uid, gid: e.gid };
    view.hostedJoined(id, host === undefined ? readHosted(liveDir, from, e.sub) : vouched(host.uid, creds));
  }
}
