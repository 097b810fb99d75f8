// The credentials the bus reports for a name's owner (GetConnectionUnixUser/ProcessID, GetConnectionCredentials).
//
// Whom they describe depends on the owner: a hosted client is what its
// host vouches for (hosted.ts), a member is what it proxies for the
// process behind it (proxied-credentials.ts), else what the transport
// stamped for the member itself.
import type { BusView } from './bus-view.js';
import { readProxiedCredentials } from './proxied-credentials.js';
import { memberOf, subOf } from './unique-name.js';

/** Credentials of `name`'s owner as seen by member `self`, or undefined when nobody owns it. */
export function ownerCredentials(
  view: BusView,
  liveDir: string,
  self: bigint,
  name: string,
): { pid: number; uid: number; gid: number } | undefined {
  const owner = view.ownerOf(name);
  const id = owner === undefined ? undefined : view.endpointOf(owner);
  if (id === undefined) return undefined;
  // A hosted client: what its host vouches for, else the host's own.
  if (subOf(id) !== 0) {
    const vouched = view.hostedCredentials(id);
    if (vouched !== undefined) return vouched;
  }
  const m = view.member(memberOf(id));
  if (m === undefined) return undefined;
  if (m.id !== self) {
    const proxied = readProxiedCredentials(liveDir, m.id, m.uid);
    if (proxied !== undefined) return proxied;
  }
  return { pid: m.pid, uid: m.uid, gid: m.gid };
}
