// The user backend: a brokerless full mesh of AF_UNIX SOCK_SEQPACKET
// connections among the members of a bus directory (see layout.ts).
//
// This class is the seam: it joins (join.ts) and wires together the peer
// table (peer-table.ts: connections, ids, masks, control messages), the
// sender (sender.ts), the receiver (receiver.ts) and the coalescer above the
// sender (../coalescer.ts). Sender and receiver depend on the table; none
// of them knows this class or another.
//
// Ordering: broadcasts are numbered and fanned out under the directory's
// flock (native seqSendToMany), and receivers deliver through an OrderBuffer,
// so every member sees broadcasts in one order. The lock is never held
// across an event-loop turn.
//
// A full receiver never holds up the others: a datagram it has no room for
// waits in the sender's queue for that receiver alone (peer.ts), and the
// sender leaves a hold in the receiver's hold file (hold.ts) so that the
// receiver delivers nothing numbered after it until it arrives. Each queue
// is bounded (peerQueueBytes); past it the receiver's broadcasts are dropped
// and counted, and it is told how many in the next datagram it gets.
//
// Coalescing: the first broadcast of an event-loop turn goes out at once
// (low-rate latency is one hop); further broadcasts in the same turn with
// the same bloom are packed into one Batch datagram (batch.ts), sent at the
// end of the turn (process.nextTick) or earlier when anything that must not
// overtake them happens (a unicast, a change of targets, another bloom,
// close). One sequence number and one send per receiver then carry the
// whole batch; receivers unpack it in order.
import { unlinkSync } from 'node:fs';
import native from '@ipnbus/native';
import type { BackendKind, Credentials, MemberInfo, Network } from '../network.js';
import { NetworkBase } from '../network-base.js';
import { TransportError, fromErrno } from '../errors.js';
import { HEADER_BYTES, Kind, writeHeader } from '../header.js';
import { checkBloom } from '../bloom.js';
import { checkFilter, type Filter } from '../mask-set.js';
import { checkMessage, checkUnicast, fragment } from '../fragment.js';
import { ReassemblyBudget } from '../reassembly.js';
import { Coalescer, type Flushed } from '../coalescer.js';
import { closeQuietly } from '../fds.js';
import { sockPath } from './layout.js';
import { enterMesh, leaveMesh, type Entry } from './join.js';
import { removeHoldFile } from './hold.js';
import type { Peer } from './peer.js';
import { PeerTable } from './peer-table.js';
import { Sender, outMsg } from './sender.js';
import { Receiver } from './receiver.js';

/** Payload bytes per datagram: 64 KiB keeps copies cheap and fits SO_SNDBUF. */
export const USER_FRAG_PAYLOAD = 64 * 1024;
/** Default bound of what waits for one receiver (UserOpenOptions.peerQueueBytes). */
export const DEFAULT_PEER_QUEUE_BYTES = 16 * 1024 * 1024;

/** What a batch keeps besides its payload: its first message id, and our own copies (loopback). */
interface BatchExtra {
  firstMsgId: number;
  loop: Buffer[] | null;
}

export interface UserOpenOptions {
  loopback: boolean;
  credentials: boolean;
  /** In force before the hello that announces us, so peers never see us unfiltered. */
  filter: Uint8Array[] | null;
  /** Bound of the bytes waiting for one receiver (default DEFAULT_PEER_QUEUE_BYTES). */
  peerQueueBytes?: number;
  /** Bound of all peers' unfinished fragmented messages (default REASSEMBLY_BUDGET_BYTES). */
  reassemblyBytes?: number;
}

export class UserNetwork extends NetworkBase<BatchExtra> implements Network {
  readonly backend: BackendKind = 'user';
  readonly path: string;
  readonly id: bigint;
  readonly lossless: boolean;
  readonly peerQueueBytes: number;

  private readonly loopback: boolean;
  private readonly entry: Entry;
  private readonly poller: InstanceType<typeof native.Poller>;
  private readonly table: PeerTable;
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  protected readonly coalescer: Coalescer<BatchExtra>;
  /** The header of the one-datagram fast paths, reused (the queues copy it). */
  private readonly hdr = Buffer.alloc(HEADER_BYTES);

  private constructor(dir: string, e: Entry, opts: UserOpenOptions) {
    super();
    this.path = dir;
    this.id = e.id;
    this.lossless = e.lossless;
    this.entry = e;
    this.loopback = opts.loopback;
    this.peerQueueBytes = opts.peerQueueBytes ?? DEFAULT_PEER_QUEUE_BYTES;
    const onError = (err: unknown, what: string): void => {
      this.emit('error', fromErrno(err, what));
    };
    this.coalescer = new Coalescer<BatchExtra>(USER_FRAG_PAYLOAD, (f) => this.sendBatch(f), () => this.flushFilter(),
      (err) => onError(err, 'broadcasting'));
    this.table = new PeerTable(dir, e.id, e.epfd, opts.filter, new ReassemblyBudget(opts.reassemblyBytes), () => this.coalescer.flush());
    this.sender = new Sender(this.table, {
      dir, id: e.id, lossless: e.lossless, peerQueueBytes: this.peerQueueBytes, lockFd: e.lockFd,
      counter: native.mmapShared(e.lockFd, 16), fragPayload: USER_FRAG_PAYLOAD,
    }, {
      drain: () => this.emit('drain'),
      error: onError,
      loopback: (seq, payload) => this.receiver.loopback(seq, payload),
    });
    this.receiver = new Receiver(this.table, {
      id: e.id, credentials: opts.credentials, epfd: e.epfd, lockFd: e.lockFd, holds: e.holds,
      recvMax: HEADER_BYTES + USER_FRAG_PAYLOAD,
    }, this, {
      acceptPending: () => this.acceptAll(),
      hangUp: (p) => this.peerGone(p),
    });
    this.poller = new native.Poller();
    this.poller.start(e.epfd, true, false, () => this.receiver.drain());
  }

  /** Joins (the directory already exists and carries the marker). */
  static async join(dir: string, opts: UserOpenOptions): Promise<UserNetwork> {
    const q = opts.peerQueueBytes;
    if (q !== undefined && (!Number.isSafeInteger(q) || q < USER_FRAG_PAYLOAD + HEADER_BYTES)) {
      throw new TransportError('ERR_INVALID_ARG', `peerQueueBytes must be an integer >= ${USER_FRAG_PAYLOAD + HEADER_BYTES}`);
    }
    const e = await enterMesh(dir);
    let net: UserNetwork;
    try {
      net = new UserNetwork(dir, e, opts);
    } catch (err) {
      leaveMesh(dir, e);
      throw fromErrno(err, `joining ${dir}`);
    }
    for (const c of e.connected) net.receiver.announceExisting(net.addPeer(c.fd, c.id, c.creds));
    net.receiver.scheduleDrain();
    return net;
  }

  members(): MemberInfo[] {
    return this.table.members();
  }

  broadcast(bytes: Uint8Array, bloom?: Uint8Array): boolean {
    this.checkOpen();
    checkBloom(bloom);
    const payload = checkMessage(bytes);
    const selfWants = this.loopback && this.table.ownFilterPasses(bloom);
    // A sender that also broadcast in a turn that ended moments ago is
    // streaming: its first message of this turn joins the batch too (one
    // datagram per turn instead of two). An idle sender's message leaves now.
    if (this.coalescer.wants(payload.length, this.sender.behind)) {
      if (!this.coalescer.fits(bloom, payload.length)) {
        this.coalescer.flush();
        if (this.table.targets(bloom).length === 0 && !selfWants) return this.sender.clear();
      }
      const { record, extra } = this.coalescer.add(payload, bloom, () => ({ firstMsgId: this.sender.takeMsgId(), loop: null }));
      if (selfWants) (extra.loop ??= []).push(record);
      return this.sender.clear();
    }
    // Whatever is pending goes first: messages leave in the order given.
    this.coalescer.flush();
    const targets = this.table.targets(bloom);
    if (targets.length === 0 && !selfWants) return this.sender.clear();
    const msgId = this.sender.takeMsgId();
    const msg = outMsg(1);
    if (payload.length <= USER_FRAG_PAYLOAD) {
      // Fast path: one datagram, the shared header.
      writeHeader(this.hdr, Kind.Broadcast, bloom, msgId, 0, 1, payload.length);
      this.sender.numbered(bloom, [this.hdr, payload], msg, selfWants ? [payload] : null);
      this.coalescer.sentAlone();
      return this.sender.clear();
    }
    const dgrams = fragment(Kind.Broadcast, payload, bloom, msgId, USER_FRAG_PAYLOAD);
    dgrams.forEach((d, i) => this.sender.numbered(bloom, d.parts, msg, selfWants && i === dgrams.length - 1 ? [payload] : null));
    return this.sender.clear();
  }

  send(member: bigint, bytes: Uint8Array, fds?: number[]): boolean {
    this.checkOpen();
    const withFds = checkUnicast(member, fds);
    const payload = checkMessage(bytes);
    // A unicast must not overtake this sender's earlier broadcasts, nor a
    // filter change the receiver is to act on.
    this.coalescer.flush();
    this.flushFilter();
    if (member === this.id) {
      // To ourselves: no socket involved; the fds are duplicated so that
      // the receiver owns its copies like any other receiver would.
      this.receiver.toSelf(payload, (withFds ?? []).map((f) => native.dup(f)));
      return true;
    }
    const p = this.table.byId.get(member);
    if (p === undefined || !p.alive) throw new TransportError('EHOSTUNREACH', `member ${member} is not in the network`);
    if (this.lossless && p.queuedBytes >= this.peerQueueBytes) {
      throw new TransportError('ENOBUFS', `peerQueueBytes: ${p.queuedBytes} bytes already wait for member ${member} ` +
        `(limit ${this.peerQueueBytes}); it is not reading`);
    }
    const msgId = this.sender.takeMsgId();
    const msg = outMsg(1);
    if (payload.length <= USER_FRAG_PAYLOAD) {
      // Fast path (calls and replies): the shared header.
      writeHeader(this.hdr, Kind.Unicast, undefined, msgId, 0, 1, payload.length);
      this.sender.direct(p, [this.hdr, payload], withFds, msg);
      return this.sender.clear();
    }
    const dgrams = fragment(Kind.Unicast, payload, undefined, msgId, USER_FRAG_PAYLOAD);
    dgrams.forEach((d, i) => this.sender.direct(p, d.parts, i === 0 ? withFds : null, msg));
    return this.sender.clear();
  }

  sendLossy(member: bigint, bytes: Uint8Array, fds?: number[]): boolean {
    this.checkOpen();
    const withFds = checkUnicast(member, fds);
    const payload = checkMessage(bytes);
    this.coalescer.flush();
    this.flushFilter();
    if (member === this.id) {
      this.receiver.toSelf(payload, (withFds ?? []).map((f) => native.dup(f)));
      return true;
    }
    const p = this.table.byId.get(member);
    if (p === undefined) return false;
    const msgId = this.sender.takeMsgId();
    if (payload.length <= USER_FRAG_PAYLOAD) {
      writeHeader(this.hdr, Kind.Unicast, undefined, msgId, 0, 1, payload.length);
      return this.sender.lossy(p, [[this.hdr, payload]], withFds);
    }
    return this.sender.lossy(p, fragment(Kind.Unicast, payload, undefined, msgId, USER_FRAG_PAYLOAD).map((d) => d.parts), withFds);
  }

  flushPending(): void {
    this.checkOpen();
    this.coalescer.flush();
    this.flushFilter();
  }

  setFilter(masks: Filter): void {
    this.checkOpen();
    // A list is checked now and copied at the end of the turn; a client
    // adding rules one by one through a MaskSet costs O(1) per rule here.
    checkFilter(masks);
    this.table.filter = masks;
    // Many changes in one turn (a client adding rules one by one) cost one
    // update per peer, sent at the end of the turn or before our next
    // unicast, whichever comes first.
    this.table.filterDirty = true;
    this.coalescer.endSoon();
  }

  /** Statistic: bytes waiting in all per-peer queues (each at most peerQueueBytes). */
  get waitingBytes(): number {
    return this.sender.waitingBytes;
  }

  /**
   * Some receiver that still takes messages has datagrams waiting (see
   * Network.queued). A coalesced broadcast can queue at the end of the turn
   * after broadcast() returned true, so no send asked for a 'drain': whoever
   * sees true here is owed one, as if its send had returned false.
   */
  get queued(): boolean {
    return !this.sender.clear();
  }

  /** Statistic: datagrams rejected as malformed, by reason. */
  get rejected(): Map<string, number> {
    return this.receiver.rejected;
  }

  protected release(): void {
    this.poller.close();
    this.receiver.close();
    this.sender.close();
    this.table.closeAll();
    try {
      unlinkSync(sockPath(this.path, this.id));
    } catch {
      // The directory went away first.
    }
    removeHoldFile(this.path, this.id);
    closeQuietly(this.entry.listenFd);
    closeQuietly(this.entry.epfd);
    closeQuietly(this.entry.lockFd);
  }

  private addPeer(fd: number, id: bigint | null, creds: Credentials): Peer {
    const p = this.table.add(fd, id, creds, this.receiver.reads);
    this.sender.control(p, Kind.Hello, this.table.helloBody());
    return p;
  }

  private acceptAll(): void {
    for (;;) {
      const fd = native.accept(this.entry.listenFd);
      if (fd < 0) return;
      let creds: Credentials;
      try {
        creds = native.peerCred(fd);
      } catch {
        closeQuietly(fd);
        continue;
      }
      this.addPeer(fd, null, creds);
    }
  }

  private peerGone(p: Peer): void {
    if (!this.table.remove(p)) return;
    this.sender.forget(p);
    this.receiver.left(p);
  }

  /** Sends the coalescer's batch: one number, one send per receiver, for all its messages. */
  private sendBatch(f: Flushed<BatchExtra>): void {
    if (this.closed) return;
    const h = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(h, f.kind, f.bloom, f.extra.firstMsgId, 0, 1, f.payload.length);
    this.sender.numbered(f.bloom, [h, f.payload], outMsg(f.count), f.extra.loop);
  }

  /** Sends the filter set this turn to every peer, once. */
  private flushFilter(): void {
    if (this.closed) return;
    const body = this.table.takeFilterUpdate();
    if (body === null) return;
    for (const p of this.table.byFd.values()) if (p.alive) this.sender.control(p, Kind.Filter, body);
  }
}
