// The members of one AF_IPN network as the kernel lists them in
// /proc/net/ipn: what the kernel backend rebuilds members() from after it
// lost membership events (IPN_EVENT_OVERRUN), with each member's real pid.
import { readFileSync, statSync } from 'node:fs';
import type { MemberInfo } from '../network.js';

/** The module's listing (kernel/ipn_proc.c): a header, then "path id pid uid rxqueue drops". */
export const PROC_NET_IPN = '/proc/net/ipn';

/** The path field with the kernel's \ooo escapes (space, tab, newline, backslash) undone. */
function unescapePath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Members of the network at `path` (as bound: absolute), self included, or
 * null when the listing cannot be read. The listing has no gid: it is taken
 * from the process's /proc entry (its effective gid); a member whose process
 * is gone meanwhile is left out (its LEAVE follows).
 */
export function procMembers(path: string, file = PROC_NET_IPN): MemberInfo[] | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const out: MemberInfo[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.split(' ');
    if (f.length < 4 || unescapePath(f[0]!) !== path) continue;
    const pid = Number(f[2]);
    let gid: number;
    try {
      gid = statSync(`/proc/${pid}`).gid;
    } catch {
      continue;
    }
    out.push({ id: BigInt(f[1]!), pid, uid: Number(f[3]), gid });
  }
  return out;
}
