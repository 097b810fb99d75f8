// The user backend's peer table: the mesh connections by fd and by member
// id, who a broadcast with a given bloom goes to, our own filter masks, and
// the control messages that carry ids and masks (hello, filter). The sender
// and the receiver both work from it; it knows neither.
import native from '@ipnbus/native';
import type { Credentials, MemberInfo } from '../network.js';
import type { ReassemblyBudget } from '../reassembly.js';
import { closeQuietly, setBuffer } from '../fds.js';
import { sockPath } from './layout.js';
import { decodeMasks, encodeMasks } from './masks.js';
import { bloomMatches } from '../bloom.js';
import { MaskSet, maskList, type Filter } from '../mask-set.js';
import { Peer } from './peer.js';

const { AF_UNIX, SOCK_SEQPACKET, SO_SNDBUF, SO_SNDBUFFORCE } = native.constants;
/** Requested per-connection send buffer (the kernel caps it at wmem_max). */
const SNDBUF_REQUEST = 2 * 1024 * 1024;

/** What a hello tells about a peer: accepted, or refused (and whether to hang up on it). */
export type HelloVerdict = { refused: null } | { refused: string; hangUp: boolean };

export class PeerTable {
  readonly byFd = new Map<number, Peer>();
  readonly byId = new Map<bigint, Peer>();
  /** Our filter: what the hellos and filter updates we send carry. */
  filter: Filter;
  /** The filter changed this turn: an update is owed to every peer. */
  filterDirty = false;
  // The fan-out set when no peer filters, and its fds, built on demand.
  private all: Peer[] | null = null;
  private allFds: Int32Array | null = null;

  constructor(
    private readonly dir: string,
    private readonly selfId: bigint,
    private readonly epfd: number,
    filter: Filter,
    private readonly budget: ReassemblyBudget,
    /**
     * Runs before the set of receivers changes: a broadcast accepted earlier
     * goes to the members it was meant for (the coalescer's flush).
     */
    private readonly beforeChange: () => void,
  ) {
    this.filter = filter;
  }

  /** A new connection (id null until its hello, for one that connected to us); `since`: see Peer. */
  add(fd: number, id: bigint | null, creds: Credentials, since: number): Peer {
    setBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, SNDBUF_REQUEST);
    const p = new Peer(fd, id, creds, since, this.budget);
    this.byFd.set(fd, p);
    if (id !== null) this.byId.set(id, p);
    native.epollAdd(this.epfd, fd, false);
    this.changed();
    return p;
  }

  /** p hung up: forgotten and closed. False when it was already gone. */
  remove(p: Peer): boolean {
    if (!p.alive) return false;
    p.alive = false;
    p.reasm.abandon();
    p.discard();
    try {
      native.epollDel(this.epfd, p.fd);
    } catch {
      // Closing removes it anyway.
    }
    closeQuietly(p.fd);
    this.byFd.delete(p.fd);
    if (p.id !== null && this.byId.get(p.id) === p) this.byId.delete(p.id);
    this.changed();
    return true;
  }

  /** Closing: every connection goes. */
  closeAll(): void {
    for (const p of this.byFd.values()) {
      p.alive = false;
      p.reasm.abandon();
      p.discard();
      closeQuietly(p.fd);
    }
    this.byFd.clear();
    this.byId.clear();
    this.all = null;
    this.allFds = null;
  }

  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const p of this.byId.values()) if (p.alive) out.push(p.info());
    return out;
  }

  /** Peers a broadcast with this bloom goes to (their filters, checked here). */
  targets(bloom: Uint8Array | undefined): Peer[] {
    if (this.all === null) {
      this.all = [...this.byFd.values()].filter((p) => p.alive);
      this.allFds = Int32Array.from(this.all, (p) => p.fd);
    }
    if (bloom === undefined) return this.all;
    let filtered = false;
    for (const p of this.all) if (p.masks !== null) filtered = true;
    if (!filtered) return this.all;
    return this.all.filter((p) => p.wants(bloom));
  }

  /** The fds of targets(undefined), cached with it; null for a bloom (the targets vary). */
  fdsOf(bloom: Uint8Array | undefined): Int32Array | null {
    return bloom === undefined ? this.allFds : null;
  }

  /** Does our own filter pass a broadcast with this bloom (undefined: none)? */
  ownFilterPasses(bloom: Uint8Array | undefined): boolean {
    return bloomMatches(bloom, maskList(this.filter));
  }

  /** The body of our hello: our id and filter. */
  helloBody(): Buffer {
    const body = Buffer.concat([Buffer.alloc(8), encodeMasks(maskList(this.filter))]);
    body.writeBigUInt64LE(this.selfId, 0);
    return body;
  }

  /**
   * The filter update owed to every peer, or null when none is. A list's
   * masks are copied here, once per turn, not at every setFilter (a
   * MaskSet's were copied as they came in).
   */
  takeFilterUpdate(): Buffer | null {
    if (!this.filterDirty) return null;
    this.filterDirty = false;
    if (this.filter !== null && !(this.filter instanceof MaskSet)) this.filter = this.filter.map((m) => Uint8Array.from(m));
    return encodeMasks(maskList(this.filter));
  }

  /** A peer's hello arrived (reassembled): its id is checked, its masks taken. */
  onHello(p: Peer, body: Buffer): HelloVerdict {
    if (body.length < 8) return { refused: 'short hello', hangUp: false };
    const masks = decodeMasks(body, 8);
    if (masks === undefined) return { refused: 'malformed filter in hello', hangUp: false };
    const id = body.readBigUInt64LE(0);
    if (p.id === null) {
      // A member that connected to us says who it is: believed only if that
      // id's listening socket belongs to the same process (its SO_PEERCRED)
      // and no live connection already carries the id.
      const refused = this.refuseClaim(p, id);
      if (refused !== null) return { refused, hangUp: true };
      p.id = id;
      this.byId.set(id, p);
    } else if (id !== p.id) {
      // We connected to <p.id>.sock: whoever answers there is that member.
      return { refused: `hello claims member ${id} on the connection to member ${p.id}`, hangUp: false };
    }
    p.masks = masks;
    this.changed();
    return { refused: null };
  }

  /** A peer's filter update arrived; returns why it is refused, or null. */
  onFilter(p: Peer, body: Buffer): string | null {
    const masks = decodeMasks(body, 0);
    if (masks === undefined) return 'malformed filter';
    p.masks = masks;
    this.changed();
    return null;
  }

  /** Why the claim of `id` by a peer that connected to us is refused, or null to believe it. */
  private refuseClaim(p: Peer, id: bigint): string | null {
    if (id === 0n || id === this.selfId) return `hello claims member ${id}, which is not a peer's id`;
    const known = this.byId.get(id);
    if (known !== undefined && known.alive) return `hello claims member ${id}, already connected`;
    let fd = -1;
    try {
      fd = native.socket(AF_UNIX, SOCK_SEQPACKET, 0);
      if (native.connectUnix(fd, sockPath(this.dir, id)) < 0) return `hello claims member ${id}, whose socket is not accepting`;
      const owner = native.peerCred(fd);
      if (owner.pid !== p.creds.pid || owner.uid !== p.creds.uid) {
        return `hello from pid ${p.creds.pid} claims member ${id}, whose socket belongs to pid ${owner.pid}`;
      }
      return null;
    } catch (err) {
      return `hello claims member ${id}, whose socket cannot be reached (${(err as { code?: string }).code ?? 'error'})`;
    } finally {
      if (fd >= 0) closeQuietly(fd);
    }
  }

  private changed(): void {
    this.beforeChange();
    this.all = null;
    this.allFds = null;
  }
}
