// Credentials a member reports on behalf of a process it represents (a gateway's stock D-Bus client).
//
// Transport credentials are stamped by the kernel and name the process that
// holds the socket: for a gateway member that is the gateway, not the gdbus
// or busctl behind it. The gateway knows the real ones (SO_PEERCRED on the
// client's socket) and writes them into its member's live/<id> file; every
// member reading credentials of that member prefers them, but only when
// they cannot be used to gain anything: the file must belong to the
// member's kernel-stamped uid, and that uid must be root or the same uid
// as claimed. So a member may only "proxy" processes of its own user
// (or any, when it runs as root, like dbus-daemon).
import * as fs from 'node:fs';
import { join } from 'node:path';

export interface ProxiedCredentials {
  pid: number;
  uid: number;
  gid: number;
}

const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

/** The text a member's live file carries: one JSON object. */
export function formatProxiedCredentials(c: ProxiedCredentials): string {
  return JSON.stringify({ pid: c.pid, uid: c.uid, gid: c.gid });
}

export function validProxiedCredentials(c: unknown): c is ProxiedCredentials {
  const o = c as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && isId(o.pid) && isId(o.uid) && isId(o.gid);
}

/**
 * The credentials member `id` reports for itself, if it reports any and
 * they pass the trust rule above. `stampedUid` is its transport uid.
 */
export function readProxiedCredentials(liveDir: string, id: bigint, stampedUid: number): ProxiedCredentials | undefined {
  let fd: number;
  try {
    fd = fs.openSync(join(liveDir, id.toString()), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== stampedUid || st.size === 0 || st.size > 256) return undefined;
    const buf = Buffer.alloc(st.size);
    const n = fs.readSync(fd, buf, 0, st.size, 0);
    const parsed: unknown = JSON.parse(buf.subarray(0, n).toString('utf8'));
    if (!validProxiedCredentials(parsed)) return undefined;
    if (stampedUid !== 0 && parsed.uid !== stampedUid) return undefined;
    return parsed;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
