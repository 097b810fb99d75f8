// The user backend: a brokerless full mesh of AF_UNIX SOCK_SEQPACKET
// connections among the members of a bus directory (see layout.ts).
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
import { EventEmitter } from 'node:events';
import { unlinkSync } from 'node:fs';
import native from '@ipnbus/native';
import type { BackendKind, Credentials, IncomingMessage, MemberInfo, Network, NetworkEvents } from '../network.js';
import { BLOOM_BYTES } from '../network.js';
import { TransportError, fromErrno } from '../errors.js';
import { BLOOM_OFFSET, DROPPED_OFFSET, FRAG_COUNT_OFFSET, FRAG_INDEX_OFFSET, HEADER_BYTES, Kind, MAGIC0, MAGIC1, SEQ_OFFSET, VERSION,
  readHeader, writeHeader } from '../header.js';
import { bloomMatches, checkBloom, checkMaskShapes } from '../bloom.js';
import { checkMessage, fragment, type Datagram } from '../fragment.js';
import { OrderBuffer } from '../order.js';
import { ReassemblyBudget } from '../reassembly.js';
import { batchBuilderFor, batchTakes, unpackBatch, type OpenBatch } from '../batch.js';
import { TurnTracker } from '../turn.js';
import { closeQuietly, setBuffer, sockPath, tryLock, unlock } from './layout.js';
import { enterMesh, leaveMesh } from './join.js';
import { lowestHold, openHoldFile, removeHoldFile, setHold, type HoldWords } from './hold.js';
import { decodeMasks, encodeMasks } from './masks.js';
import { Peer, type Waiting } from './peer.js';

const C = native.constants;
const AF_UNIX = C.AF_UNIX!;
const SOCK_SEQPACKET = C.SOCK_SEQPACKET!;
const EAGAIN = C.EAGAIN!;
const MSG_DONTWAIT = C.MSG_DONTWAIT!;

/** Payload bytes per datagram: 64 KiB keeps copies cheap and fits SO_SNDBUF. */
export const USER_FRAG_PAYLOAD = 64 * 1024;
/** Default bound of what waits for one receiver (UserOpenOptions.peerQueueBytes). */
export const DEFAULT_PEER_QUEUE_BYTES = 16 * 1024 * 1024;
const RECV_MAX = HEADER_BYTES + USER_FRAG_PAYLOAD;
/** Requested per-connection send buffer (the kernel caps it at wmem_max). */
const SNDBUF_REQUEST = 2 * 1024 * 1024;
const VLEN = 64;
const MAX_EVENTS = 1024;
// recvReadyPacked rows and flags, as the addon names them.
const ROW = C.PACKED_MESH_ROW!;
const F_TRUNC = C.PACKED_TRUNCATED!;
const F_EOF = C.PACKED_EOF!;
const F_NOTIFY = C.PACKED_NOTIFY!;
const F_MORE = C.PACKED_MORE!;
const F_PASS_END = C.PACKED_PASS_END!;
/** The payload bound of a batch. */
const BATCH_PAYLOAD_MAX = USER_FRAG_PAYLOAD;
/** While a hold keeps messages back, how often to look whether it moved. */
const HOLD_RECHECK_MS = 1;

/** Per outgoing message state shared by its fragments. */
interface OutMsg {
  /** Peers that missed a fragment, skipped for the rest. */
  skipped: Set<Peer> | null;
  /** Messages this datagram carries (a batch: several; drop counts). */
  count: number;
  /**
   * A datagram of it went out or was queued: the queue bound is checked when
   * a message starts, so a message admitted is queued whole (a message may be
   * larger than the bound) and one refused is refused whole.
   */
  started: boolean;
}

/** Broadcasts waiting for the end of the turn, all with one bloom. */
interface PendingBatch extends OpenBatch {
  firstMsgId: number;
  loop: Buffer[] | null;
}

type Delivery =
  | { t: 'msg'; m: IncomingMessage }
  | { t: 'join'; info: MemberInfo }
  | { t: 'leave'; info: MemberInfo };

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

export class UserNetwork extends EventEmitter<NetworkEvents> implements Network {
  readonly backend: BackendKind = 'user';
  readonly path: string;
  readonly id: bigint;
  readonly lossless: boolean;
  readonly peerQueueBytes: number;

  private readonly loopback: boolean;
  private readonly credentials: boolean;
  private readonly lockFd: number;
  /** The lock file's counters, mapped: [0] last sequence number. */
  private readonly counter: Buffer;
  /** Our hold file, mapped: what senders still owe us (hold.ts). */
  private readonly holds: HoldWords;
  private readonly listenFd: number;
  private readonly epfd: number;
  private readonly poller: InstanceType<typeof native.Poller>;
  private readonly peers = new Map<number, Peer>();
  private readonly byId = new Map<bigint, Peer>();
  private readonly order = new OrderBuffer<Delivery>();
  /** What all peers' unfinished fragmented messages may reserve together. */
  private readonly budget: ReassemblyBudget;
  private readonly selfCreds: Credentials;
  private filter: Uint8Array[] | null = null;
  /** setFilter was called this turn: the new masks go out at its end. */
  private filterDirty = false;
  private closed = false;
  private nextMsgId = 1;
  /** Batched reads done so far (see Peer.since). */
  private reads = 0;

  /** Peers with datagrams waiting. */
  private readonly backlogged = new Set<Peer>();
  /**
   * Sends that found the lock held by another process, in order, and what
   * this sender sent after them (which must not overtake them). Retried by
   * retryWhenUnlocked.
   */
  private deferred: (() => boolean)[] = [];
  /** Peers whose hold could not be moved on for want of the lock. */
  private readonly holdMoves = new Set<Peer>();
  /** Senders that left: their holds on us are cleared at the next look. */
  private readonly departedHolders = new Set<bigint>();
  /** Pending retry of what found the lock held (see retryWhenUnlocked). */
  private lockRetry: NodeJS.Timeout | null = null;
  private lockPause = 1;
  /** runDeferred is sending the head of `deferred`: it goes out, not back in line. */
  private runningDeferred = false;
  /** A send returned false: emit 'drain' once nothing holds us back. */
  private needDrain = false;
  private drainScheduled = false;
  private recheckTimer: NodeJS.Timeout | null = null;
  private carryDropped = 0;
  private readonly turn = new TurnTracker(() => {
    try {
      this.flushBatch();
      this.flushFilter();
    } catch (err) {
      this.emit('error', fromErrno(err, 'broadcasting'));
    }
  });
  private batch: PendingBatch | null = null;
  /** Statistic: batches sent and the messages they carried. */
  batchesSent = 0;
  batchedMessages = 0;
  /** Statistic: datagrams rejected as malformed, by reason. */
  readonly rejected = new Map<string, number>();

  // Fast path caches: the fan-out set when no peer filters.
  private allPeers: Peer[] | null = null;
  private allFds: Int32Array | null = null;
  private results = new Int32Array(64);
  private readonly hdr = Buffer.alloc(HEADER_BYTES);

  private constructor(dir: string, id: bigint, lossless: boolean, opts: UserOpenOptions, lockFd: number,
    listenFd: number, epfd: number, holds: HoldWords) {
    super();
    this.path = dir;
    this.id = id;
    this.lossless = lossless;
    this.loopback = opts.loopback;
    this.credentials = opts.credentials;
    this.filter = opts.filter;
    this.peerQueueBytes = opts.peerQueueBytes ?? DEFAULT_PEER_QUEUE_BYTES;
    this.budget = new ReassemblyBudget(opts.reassemblyBytes);
    this.lockFd = lockFd;
    this.counter = native.mmapShared(lockFd, 16);
    this.holds = holds;
    this.listenFd = listenFd;
    this.epfd = epfd;
    this.selfCreds = { pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    this.poller = new native.Poller();
    this.poller.start(epfd, true, false, () => this.drain());
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
      net = new UserNetwork(dir, e.id, e.lossless, opts, e.lockFd, e.listenFd, e.epfd, e.holds);
    } catch (err) {
      leaveMesh(dir, e);
      throw fromErrno(err, `joining ${dir}`);
    }
    for (const c of e.connected) {
      const p = net.addPeer(c.fd, c.id, c.creds);
      // Existing members are announced like the kernel's snapshot: first.
      p.announced = true;
      net.order.add(0, { t: 'join', info: p.info() });
    }
    net.scheduleDrain();
    return net;
  }

  private addPeer(fd: number, id: bigint | null, creds: Credentials): Peer {
    setBuffer(fd, C.SO_SNDBUFFORCE!, C.SO_SNDBUF!, SNDBUF_REQUEST);
    const p = new Peer(fd, id, creds, this.reads, this.budget);
    this.peers.set(fd, p);
    if (id !== null) this.byId.set(id, p);
    native.epollAdd(this.epfd, fd, false);
    this.invalidateTargets();
    const body = Buffer.concat([Buffer.alloc(8), encodeMasks(this.filter)]);
    body.writeBigUInt64LE(this.id, 0);
    this.sendControl(p, Kind.Hello, body);
    return p;
  }

  // ---- public API --------------------------------------------------------

  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const p of this.byId.values()) if (p.alive) out.push(p.info());
    return out;
  }

  broadcast(bytes: Uint8Array, bloom?: Uint8Array): boolean {
    this.checkOpen();
    checkBloom(bloom);
    const payload = checkMessage(bytes);
    const msgId = this.nextMsgId++;
    const selfWants = this.loopback && bloomMatches(bloom, this.filter);
    // A sender that also broadcast in a turn that ended moments ago is
    // streaming: its first message of this turn joins the batch too (one
    // datagram per turn instead of two). An idle sender's message leaves now.
    if (this.turn.coalesce(payload.length, this.backlogged.size > 0)) {
      if (this.batch !== null && !batchTakes(this.batch, bloom, payload.length, BATCH_PAYLOAD_MAX)) this.flushBatch();
      if (this.batch === null && this.targets(bloom).length === 0 && !selfWants) return this.clear();
      if (this.batch === null) {
        this.batch = { builder: batchBuilderFor(payload.length, BATCH_PAYLOAD_MAX), bloom, firstMsgId: msgId, loop: null };
      }
      const rec = this.batch.builder.append(payload);
      if (selfWants) (this.batch.loop ??= []).push(rec);
      this.turn.endSoon();
      return this.clear();
    }
    // Whatever is pending goes first: messages leave in the order given.
    this.flushBatch();
    const targets = this.targets(bloom);
    if (targets.length === 0 && !selfWants) return this.clear();
    const msg: OutMsg = { skipped: null, count: 1, started: false };
    if (payload.length <= USER_FRAG_PAYLOAD) {
      // Fast path: one datagram, the shared header.
      writeHeader(this.hdr, Kind.Broadcast, bloom, msgId, 0, 1, payload.length);
      this.numbered(targets, [this.hdr, payload], msg, bloom === undefined ? this.allFds : null, selfWants ? [payload] : null);
      this.turn.sent();
      return this.clear();
    }
    const dgrams = fragment(Kind.Broadcast, payload, bloom, msgId, USER_FRAG_PAYLOAD);
    dgrams.forEach((d, i) => this.numbered(targets, d.parts, msg, null, selfWants && i === dgrams.length - 1 ? [payload] : null));
    return this.clear();
  }

  send(member: bigint, bytes: Uint8Array, fds?: number[]): boolean {
    this.checkOpen();
    if (typeof member !== 'bigint') throw new TransportError('ERR_INVALID_ARG', 'member must be a bigint id');
    const payload = checkMessage(bytes);
    if (fds !== undefined && (!Array.isArray(fds) || fds.some((f) => !Number.isInteger(f) || f < 0))) {
      throw new TransportError('ERR_INVALID_ARG', 'fds must be an array of file descriptors');
    }
    // A unicast must not overtake this sender's earlier broadcasts, nor a
    // filter change the receiver is to act on.
    this.flushBatch();
    this.flushFilter();
    if (member === this.id) {
      // To ourselves: no socket involved; the fds are duplicated so that
      // the receiver owns its copies like any other receiver would.
      const own = (fds ?? []).map((f) => native.dup(f));
      this.order.add(this.order.maxSeen, {
        t: 'msg',
        m: { from: this.id, bytes: Buffer.from(payload), fds: own, dropped: 0, unicast: true,
          ...(this.credentials ? { creds: this.selfCreds } : {}) },
      });
      this.scheduleDrain();
      return true;
    }
    const p = this.byId.get(member);
    if (p === undefined || !p.alive) throw new TransportError('EHOSTUNREACH', `member ${member} is not in the network`);
    const msgId = this.nextMsgId++;
    const withFds = fds !== undefined && fds.length > 0 ? fds : null;
    if (this.lossless && p.queuedBytes >= this.peerQueueBytes) {
      throw new TransportError('ENOBUFS', `peerQueueBytes: ${p.queuedBytes} bytes already wait for member ${member} ` +
        `(limit ${this.peerQueueBytes}); it is not reading`);
    }
    const msg: OutMsg = { skipped: null, count: 1, started: false };
    if (payload.length <= USER_FRAG_PAYLOAD) {
      // Fast path (calls and replies): the shared header.
      writeHeader(this.hdr, Kind.Unicast, undefined, msgId, 0, 1, payload.length);
      this.sendDirect(p, [this.hdr, payload], withFds, msg, false);
      return this.clear();
    }
    const dgrams = fragment(Kind.Unicast, payload, undefined, msgId, USER_FRAG_PAYLOAD);
    dgrams.forEach((d, i) => this.sendDirect(p, d.parts, i === 0 ? withFds : null, msg, false));
    return this.clear();
  }

  flushPending(): void {
    this.checkOpen();
    this.flushBatch();
    this.flushFilter();
  }

  setFilter(masks: Uint8Array[] | null): void {
    this.checkOpen();
    // Checked now, copied at the end of the turn: a client adding rules one
    // by one costs O(1) per rule here, not a copy of the whole filter.
    checkMaskShapes(masks);
    this.filter = masks;
    // Many changes in one turn (a client adding rules one by one) cost one
    // update per peer, sent at the end of the turn or before our next
    // unicast, whichever comes first.
    this.filterDirty = true;
    this.turn.endSoon();
  }

  /** Statistic: bytes waiting in all per-peer queues (each at most peerQueueBytes). */
  get waitingBytes(): number {
    let n = 0;
    for (const p of this.backlogged) n += p.queuedBytes;
    return n;
  }

  /** Some receiver that still takes messages has datagrams waiting (see Network.queued). */
  get queued(): boolean {
    if (this.deferred.length > 0) return true;
    for (const p of this.backlogged) if (!p.overrun) return true;
    return false;
  }

  close(): void {
    if (this.closed) return;
    // Broadcasts already accepted go out first, as they would have without
    // coalescing; what still cannot go is discarded with the queues.
    try {
      this.flushBatch();
    } catch {
      // Closing anyway.
    }
    this.closed = true;
    this.poller.close();
    if (this.recheckTimer !== null) clearTimeout(this.recheckTimer);
    if (this.lockRetry !== null) clearTimeout(this.lockRetry);
    this.lockRetry = null;
    this.deferred = [];
    try {
      // Our queues die with us: lift the holds they left. If another
      // process holds the lock, the receivers lift them when they see us
      // hang up.
      if (tryLock(this.lockFd)) {
        try {
          for (const p of this.backlogged) if (p.holdSeq !== 0 && p.holdMap !== null) setHold(p.holdMap, this.id, 0);
        } finally {
          unlock(this.lockFd);
        }
      }
    } catch {
      // The directory went away first.
    }
    for (const p of this.peers.values()) {
      p.alive = false;
      p.reasm.abandon();
      p.discard();
      closeQuietly(p.fd);
    }
    this.peers.clear();
    this.byId.clear();
    this.backlogged.clear();
    try {
      unlinkSync(sockPath(this.path, this.id));
    } catch {
      // The directory went away first.
    }
    removeHoldFile(this.path, this.id);
    closeQuietly(this.listenFd);
    closeQuietly(this.epfd);
    closeQuietly(this.lockFd);
  }

  // ---- sending ---------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new TransportError('ERR_CLOSED', 'the network is closed');
  }

  /** What a send returns: false while a receiver that still takes messages makes us wait. */
  private clear(): boolean {
    if (!this.queued) return true;
    this.needDrain = true;
    return false;
  }

  private invalidateTargets(): void {
    // A pending batch goes to the members it was meant for when accepted.
    this.flushBatch();
    this.allPeers = null;
    this.allFds = null;
  }

  /** Peers a broadcast with this bloom goes to (their filter, checked here). */
  private targets(bloom: Uint8Array | undefined): Peer[] {
    if (this.allPeers === null) {
      this.allPeers = [...this.peers.values()].filter((p) => p.alive);
      this.allFds = Int32Array.from(this.allPeers, (p) => p.fd);
    }
    if (bloom === undefined) return this.allPeers;
    let filtered = false;
    for (const p of this.allPeers) if (p.masks !== null) filtered = true;
    if (!filtered) return this.allPeers;
    return this.allPeers.filter((p) => p.wants(bloom));
  }

  /** A numbered fan-out now, or, while the lock is held elsewhere, in order after what waits for it. */
  private numbered(targets: Peer[], parts: Buffer[], msg: OutMsg, cachedFds: Int32Array | null, loop: Buffer[] | null): void {
    if (this.deferred.length === 0) {
      const seq = this.fanOut(targets, parts, msg, cachedFds);
      if (seq > 0) {
        for (const l of loop ?? []) this.loopDeliver(seq, l);
        return;
      }
    }
    // The header may be the shared one: keep a copy; the payload is the caller's until 'drain'.
    const saved = [Buffer.from(parts[0]!), ...parts.slice(1)];
    const to = targets.slice();
    this.deferred.push(() => {
      const seq = this.fanOut(to, saved, msg, null);
      if (seq === 0) return false;
      for (const l of loop ?? []) this.loopDeliver(seq, l);
      return true;
    });
    this.retryWhenUnlocked();
  }

  /** Retries what waits for the lock after a growing pause (1 to 20 ms). */
  private retryWhenUnlocked(): void {
    if (this.lockRetry !== null) return;
    this.lockRetry = setTimeout(() => {
      this.lockRetry = null;
      this.runDeferred();
    }, this.lockPause);
    this.lockPause = Math.min(this.lockPause * 2, 20);
  }

  private runDeferred(): void {
    if (this.closed) return;
    try {
      while (this.deferred.length > 0) {
        this.runningDeferred = true;
        let done: boolean;
        try {
          done = this.deferred[0]!();
        } finally {
          this.runningDeferred = false;
        }
        if (!done) {
          this.retryWhenUnlocked();
          return;
        }
        this.deferred.shift();
      }
      for (const p of [...this.holdMoves]) this.moveHold(p);
    } catch (err) {
      this.emit('error', fromErrno(err, 'broadcasting'));
    }
    if (this.holdMoves.size === 0) this.lockPause = 1;
    this.maybeDrain();
  }

  private maybeDrain(): void {
    if (this.needDrain && !this.queued) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  /**
   * One numbered fan-out: sent at once to every target with room, queued
   * for the others (lossless; lossy networks drop and count). Returns the
   * sequence number.
   */
  private fanOut(targets: Peer[], parts: Buffer[], msg: OutMsg, cachedFds: Int32Array | null): number {
    let direct = targets;
    let fds = cachedFds;
    let waiting: Peer[] | null = null;
    if (this.backlogged.size > 0 || msg.skipped !== null || targets.some((p) => !p.alive)) {
      direct = [];
      waiting = [];
      for (const p of targets) {
        if (!p.alive || msg.skipped?.has(p)) continue;
        // Behind what already waits for it: its copy joins the queue.
        if (p.queue.length > 0) waiting.push(p);
        else direct.push(p);
      }
      fds = null;
    }
    const n = direct.length;
    if (fds === null || fds.length !== n) fds = Int32Array.from(direct, (p) => p.fd);
    if (this.results.length < n) this.results = new Int32Array(n * 2);
    const res = this.results;
    let drops: Int32Array | null = null;
    for (let i = 0; i < n && drops === null; i++) if (direct[i]!.owed > 0) drops = Int32Array.from(direct, (p) => p.owed);
    // A peer whose queue is not yet behind a hold of ours needs one before
    // anyone can take the next number: keep the lock for that.
    const needHold = waiting !== null && waiting.some((p) => p.holdSeq === 0);
    const keep = needHold ? 2 : this.lossless ? 1 : 0;
    const seq = native.seqSendToMany(this.lockFd, this.counter, fds, null, drops, parts, SEQ_OFFSET, DROPPED_OFFSET, 0,
      res, keep);
    // Another process holds the lock: nothing went out (the caller defers it).
    if (seq === 0) return 0;
    let full: Peer[] | null = null;
    for (let i = 0; i < n; i++) {
      const r = res[i]!;
      const p = direct[i]!;
      if (r >= 0) {
        if (drops !== null) p.owed = 0;
      } else if (r === -EAGAIN) {
        (full ??= []).push(p);
      }
      // Other errors (EPIPE, ECONNRESET): the peer is going; its hang-up
      // arrives through the receive path.
    }
    const locked = keep === 2 || (keep === 1 && full !== null);
    try {
      let copy: Buffer[] | null = null;
      for (const list of [full, waiting]) {
        for (const p of list ?? []) {
          if (!this.lossless && list === full) {
            this.dropFor(p, msg);
            continue;
          }
          // The header (perhaps the shared one) is copied, the payload
          // referenced: the caller leaves it alone until 'drain'.
          copy ??= [Buffer.from(parts[0]!), ...parts.slice(1)];
          this.enqueueNumbered(p, copy, seq, msg);
        }
      }
    } finally {
      if (locked) unlock(this.lockFd);
    }
    msg.started = true;
    return seq;
  }

  /** Queues a numbered datagram for p; the caller holds the lock. */
  private enqueueNumbered(p: Peer, dgram: Buffer[], seq: number, msg: OutMsg): void {
    const bytes = dgram.reduce((a, b) => a + b.length, 0);
    if ((!msg.started && p.queuedBytes + bytes > this.peerQueueBytes) || p.id === null) {
      // Over its bound (or a peer whose hello has not come: no hold file
      // known yet): it loses this one, and is told.
      p.overrun = p.overrun || p.id !== null;
      this.dropFor(p, msg);
      return;
    }
    if (p.holdSeq === 0) {
      p.holdMap ??= openHoldFile(this.path, p.id);
      if (p.holdMap === null || !setHold(p.holdMap, this.id, seq)) {
        this.dropFor(p, msg);
        return;
      }
      p.holdSeq = seq;
    }
    this.enqueue(p, { parts: dgram, bytes, fds: null, seq, control: false, count: msg.count, dropsAfter: 0 });
  }

  private dropFor(p: Peer, msg: OutMsg): void {
    // Counted where the receiver will see it: after what already waits.
    const tail = p.queue[p.queue.length - 1];
    if (tail !== undefined) tail.dropsAfter += msg.count;
    else p.owed += msg.count;
    (msg.skipped ??= new Set()).add(p);
  }

  private enqueue(p: Peer, w: Waiting): void {
    p.queue.push(w);
    p.queuedBytes += w.bytes;
    if (!this.backlogged.has(p)) {
      this.backlogged.add(p);
      p.watchWritable(() => this.flushPeer(p));
    }
  }

  /** A unicast or control datagram to one peer: at once if nothing waits for it, else queued. */
  private sendDirect(p: Peer, parts: Buffer[], fds: number[] | null, msg: OutMsg, control: boolean): void {
    if (!control && this.deferred.length > 0 && !this.runningDeferred) {
      // Behind broadcasts waiting for the lock: it must not overtake them.
      const saved = [Buffer.from(parts[0]!), ...parts.slice(1)];
      this.deferred.push(() => {
        this.sendDirect(p, saved, fds, msg, control);
        return true;
      });
      return;
    }
    msg.started = true;
    if (!p.alive || msg.skipped?.has(p)) return;
    if (p.queue.length === 0) {
      if (!control) parts[0]!.writeUInt32LE(p.owed, DROPPED_OFFSET);
      const r = native.sendmsg(p.fd, parts, AF_UNIX, null, fds, MSG_DONTWAIT);
      if (r !== -EAGAIN) {
        // Other failures (EPIPE, ECONNRESET): the peer is going; its hang-up
        // arrives through the receive path.
        if (r >= 0 && !control) p.owed = 0;
        return;
      }
      if (!control && !this.lossless) {
        this.dropFor(p, msg);
        return;
      }
    } else if (!control && p.overrun && !this.lossless) {
      this.dropFor(p, msg);
      return;
    }
    // The header may be the shared one: the queue keeps its own copy.
    const copy = [Buffer.from(parts[0]!), ...parts.slice(1)];
    this.enqueue(p, { parts: copy, bytes: copy.reduce((a, b) => a + b.length, 0), fds, seq: 0, control,
      count: msg.count, dropsAfter: 0 });
  }

  /** p has room again: sends what waits for it, in order, and moves our hold on. */
  private flushPeer(p: Peer): void {
    if (!p.alive || this.closed) return;
    let blocked = false;
    while (p.queue.length > 0) {
      const w = p.queue[0]!;
      if (!w.control) w.parts[0]!.writeUInt32LE(p.owed, DROPPED_OFFSET);
      const r = native.sendmsg(p.fd, w.parts, AF_UNIX, null, w.fds, MSG_DONTWAIT);
      if (r === -EAGAIN) {
        blocked = true;
        break;
      }
      if (r >= 0 && !w.control) p.owed = 0;
      p.owed += w.dropsAfter;
      p.queue.shift();
      p.queuedBytes -= w.bytes;
    }
    try {
      this.moveHold(p);
    } catch (err) {
      this.emit('error', fromErrno(err, 'updating a hold'));
    }
    if (blocked) {
      p.watchWritable(() => this.flushPeer(p));
      return;
    }
    p.overrun = false;
    this.backlogged.delete(p);
    this.maybeDrain();
  }

  /** Our hold for p now names the first numbered datagram still waiting (or none). */
  private moveHold(p: Peer): void {
    if (p.holdSeq === 0 || p.holdMap === null) return;
    let next = 0;
    for (const w of p.queue) {
      if (w.seq > 0) {
        next = w.seq;
        break;
      }
    }
    if (next === p.holdSeq) return;
    if (!tryLock(this.lockFd)) {
      // Left where it was: the receiver waits a little longer. Retried.
      this.holdMoves.add(p);
      this.retryWhenUnlocked();
      return;
    }
    this.holdMoves.delete(p);
    try {
      setHold(p.holdMap, this.id, next);
    } finally {
      unlock(this.lockFd);
    }
    p.holdSeq = next;
  }

  /** A control message (hello, filter) to one peer, in as many fragments as it needs. */
  private sendControl(p: Peer, kind: Kind, body: Buffer): void {
    const msg: OutMsg = { skipped: null, count: 1, started: false };
    for (const d of fragment(kind, body, undefined, this.nextMsgId++, USER_FRAG_PAYLOAD)) {
      this.sendDirect(p, d.parts, null, msg, true);
    }
  }

  /** Sends the filter set this turn to every peer, once. */
  private flushFilter(): void {
    if (!this.filterDirty || this.closed) return;
    this.filterDirty = false;
    this.filter = this.filter === null ? null : this.filter.map((m) => Uint8Array.from(m));
    const body = encodeMasks(this.filter);
    for (const p of this.peers.values()) if (p.alive) this.sendControl(p, Kind.Filter, body);
  }

  /** Sends the pending batch now. */
  private flushBatch(): void {
    const b = this.batch;
    if (b === null) return;
    this.batch = null;
    if (this.closed) return;
    const builder = b.builder;
    const payload = builder.count === 1 ? builder.payload().subarray(4) : builder.payload();
    const kind = builder.count === 1 ? Kind.Broadcast : Kind.Batch;
    this.batchesSent++;
    this.batchedMessages += builder.count;
    const targets = this.targets(b.bloom);
    const h = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(h, kind, b.bloom, b.firstMsgId, 0, 1, payload.length);
    const msg: OutMsg = { skipped: null, count: builder.count, started: false };
    this.numbered(targets, [h, payload], msg, b.bloom === undefined ? this.allFds : null, b.loop);
  }

  private loopDeliver(seq: number, payload: Buffer): void {
    this.order.add(seq, {
      t: 'msg',
      m: { from: this.id, bytes: Buffer.from(payload), fds: [], dropped: 0, unicast: false,
        ...(this.credentials ? { creds: this.selfCreds } : {}) },
    });
    this.scheduleDrain();
  }

  // ---- receiving -------------------------------------------------------------

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    if (this.closed) return;
    let held = false;
    try {
      for (let round = 0; round < 4 && !this.closed; round++) {
        // Up to 4 passes over the sockets in one native call.
        const read = ++this.reads;
        const batch = native.recvReadyPacked(this.epfd, MAX_EVENTS, VLEN, RECV_MAX, 4);
        if (batch === null) {
          // Nothing arrived since everything pending was read: all of it
          // is in order.
          held = this.deliver(Number.POSITIVE_INFINITY);
          break;
        }
        const { data, meta, extras } = batch;
        // The highest number proven safe by a complete pass (see order.ts):
        // what had been read when that pass started.
        let safe = -1;
        let passStart = this.order.maxSeen;
        let complete = true;
        for (let i = 0; i < meta.length; i += ROW) {
          const flags = meta[i + 3]!;
          if ((flags & F_PASS_END) !== 0) {
            if (complete) safe = passStart;
            passStart = this.order.maxSeen;
            complete = true;
            continue;
          }
          if ((flags & F_MORE) !== 0) {
            complete = false;
            continue;
          }
          if ((flags & F_NOTIFY) !== 0) {
            this.acceptAll();
            continue;
          }
          const x = meta[i + 4]!;
          const fds = x >= 0 ? extras[x]!.fds : [];
          const p = this.peers.get(meta[i]!);
          if (p === undefined || p.since >= read) {
            for (const fd of fds) closeQuietly(fd);
          } else if ((flags & F_EOF) !== 0) {
            this.peerGone(p);
          } else {
            const off = meta[i + 1]!;
            this.onDatagram(p, data.subarray(off, off + meta[i + 2]!), fds, (flags & F_TRUNC) !== 0);
          }
        }
        if (batch.settled) {
          held = this.deliver(Number.POSITIVE_INFINITY);
          break;
        }
        if (safe >= 0) held = this.deliver(safe);
      }
    } catch (err) {
      this.emit('error', fromErrno(err, 'receiving'));
    }
    if (this.order.size === 0 || this.closed) return;
    if (!held) {
      this.scheduleDrain();
    } else if (this.recheckTimer === null) {
      // A sender still owes us an earlier message: look again shortly
      // rather than spin.
      this.recheckTimer = setTimeout(() => {
        this.recheckTimer = null;
        this.drain();
      }, HOLD_RECHECK_MS);
    }
  }

  /** Delivers everything numbered <= horizon and below every hold; true if a hold kept some back. */
  private deliver(horizon: number): boolean {
    const hold = lowestHold(this.holds, this.lockFd, this.departedHolders);
    const upTo = Math.min(horizon, hold - 1);
    for (const d of this.order.take(upTo)) {
      if (this.closed) return false;
      if (d.t === 'msg') this.emit('message', d.m);
      else if (d.t === 'join') this.emit('join', d.info);
      else this.emit('leave', d.info);
    }
    return upTo < horizon && this.order.size > 0;
  }

  private acceptAll(): void {
    for (;;) {
      const fd = native.accept(this.listenFd);
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

  /** A datagram that breaks the protocol: dropped, counted by reason, nobody else affected. */
  private reject(p: Peer, fds: number[], reason: string): void {
    for (const fd of fds) closeQuietly(fd);
    p.reasm.abandon();
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
    this.emit('rejected', { from: p.id, pid: p.creds.pid, reason });
  }

  private onDatagram(p: Peer, bytes: Buffer, fds: number[], truncated: boolean): void {
    const kind = bytes.length >= HEADER_BYTES ? bytes[3] : 0;
    if (!truncated && (kind === Kind.Broadcast || kind === Kind.Unicast) && p.id !== null && !p.reasm.inProgress &&
      bytes[0] === MAGIC0 && bytes[1] === MAGIC1 && bytes[2] === VERSION &&
      bytes.readUInt32LE(FRAG_COUNT_OFFSET) === 1 && bytes.readUInt32LE(FRAG_INDEX_OFFSET) === 0) {
      // The common case, a whole message in one datagram: no reassembly.
      if (kind === Kind.Broadcast) p.lastSeq = bytes.readUInt32LE(SEQ_OFFSET) + bytes.readUInt32LE(SEQ_OFFSET + 4) * 2 ** 32;
      this.accept(p, kind === Kind.Unicast, bytes, bytes.subarray(HEADER_BYTES), fds,
        bytes.readUInt32LE(DROPPED_OFFSET));
      return;
    }
    if (truncated) return this.reject(p, fds, 'truncated datagram');
    if (bytes.length === 0) return this.reject(p, fds, 'empty datagram');
    const h = readHeader(bytes);
    if (h === null) return this.reject(p, fds, 'not an ipnbus header');
    if (p.id === null && h.kind !== Kind.Hello) return this.reject(p, fds, 'message before hello');
    switch (h.kind) {
      case Kind.Broadcast:
      case Kind.Unicast: {
        if (h.kind === Kind.Broadcast) p.lastSeq = h.seq;
        const a = p.reasm.push(h, bytes, fds);
        if (a === null) {
          const refused = p.reasm.takeRefusal();
          if (refused !== null) this.reject(p, [], refused);
          return;
        }
        // Lossy: partial messages the sender gave up on are already in
        // its dropped count; discarded ones here would double count.
        p.reasm.takeDiscarded();
        this.accept(p, h.kind === Kind.Unicast, bytes, a.bytes, a.fds, a.dropped);
        return;
      }
      case Kind.Batch: {
        // Several whole broadcasts under one number, in the sender's order.
        p.lastSeq = h.seq;
        p.reasm.abandon();
        p.reasm.takeDiscarded();
        for (const fd of fds) closeQuietly(fd);
        const recs = unpackBatch(bytes.subarray(HEADER_BYTES));
        if (recs === null) return this.reject(p, [], 'malformed batch');
        if (!bloomMatches(bytes.subarray(BLOOM_OFFSET, BLOOM_OFFSET + BLOOM_BYTES), this.filter)) {
          this.carryDropped += h.dropped;
          return;
        }
        let dropped = h.dropped + this.carryDropped;
        this.carryDropped = 0;
        for (const r of recs) {
          const m: IncomingMessage = { from: p.id!, bytes: r, fds: [], dropped, unicast: false };
          if (this.credentials) m.creds = p.creds;
          dropped = 0;
          this.order.add(p.lastSeq, { t: 'msg', m });
        }
        return;
      }
      case Kind.Hello:
      case Kind.Filter: {
        for (const fd of fds) closeQuietly(fd);
        const a = p.reasm.push(h, bytes, []);
        if (a === null) {
          const refused = p.reasm.takeRefusal();
          if (refused !== null) this.reject(p, [], refused);
          return;
        }
        p.reasm.takeDiscarded();
        if (h.kind === Kind.Hello) this.onHello(p, a.bytes);
        else this.onFilter(p, a.bytes);
        return;
      }
      default:
        this.reject(p, fds, `unknown kind ${h.kind}`);
    }
  }

  private onHello(p: Peer, body: Buffer): void {
    if (body.length < 8) return this.reject(p, [], 'short hello');
    const masks = decodeMasks(body, 8);
    if (masks === undefined) return this.reject(p, [], 'malformed filter in hello');
    const id = body.readBigUInt64LE(0);
    if (p.id === null) {
      // A member that connected to us says who it is: believed only if that
      // id's listening socket belongs to the same process (its SO_PEERCRED)
      // and no live connection already carries the id.
      const refused = this.refuseClaim(p, id);
      if (refused !== null) {
        this.reject(p, [], refused);
        this.peerGone(p);
        return;
      }
      p.id = id;
      this.byId.set(id, p);
    } else if (id !== p.id) {
      // We connected to <p.id>.sock: whoever answers there is that member.
      return this.reject(p, [], `hello claims member ${id} on the connection to member ${p.id}`);
    }
    p.masks = masks;
    this.invalidateTargets();
    if (!p.announced) {
      p.announced = true;
      this.order.add(p.lastSeq, { t: 'join', info: p.info() });
    }
  }

  /** Why the claim of `id` by a peer that connected to us is refused, or null to believe it. */
  private refuseClaim(p: Peer, id: bigint): string | null {
    if (id === 0n || id === this.id) return `hello claims member ${id}, which is not a peer's id`;
    const known = this.byId.get(id);
    if (known !== undefined && known.alive) return `hello claims member ${id}, already connected`;
    let fd = -1;
    try {
      fd = native.socket(AF_UNIX, SOCK_SEQPACKET, 0);
      if (native.connectUnix(fd, sockPath(this.path, id)) < 0) return `hello claims member ${id}, whose socket is not accepting`;
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

  private onFilter(p: Peer, body: Buffer): void {
    const masks = decodeMasks(body, 0);
    if (masks === undefined) return this.reject(p, [], 'malformed filter');
    p.masks = masks;
    this.invalidateTargets();
  }

  /** Queues a whole message from p for ordered delivery. */
  private accept(p: Peer, unicast: boolean, last: Buffer, payload: Buffer, fds: number[], dropped: number): void {
    if (!unicast && this.filter !== null &&
      !bloomMatches(last.subarray(BLOOM_OFFSET, BLOOM_OFFSET + BLOOM_BYTES), this.filter)) {
      // The sender had not seen our newest filter yet: not for us, but a
      // loss it reports still counts, on the next message we take.
      this.carryDropped += dropped;
      for (const fd of fds) closeQuietly(fd);
      return;
    }
    const m: IncomingMessage = { from: p.id!, bytes: payload, fds, dropped: dropped + this.carryDropped, unicast };
    this.carryDropped = 0;
    if (this.credentials) m.creds = p.creds;
    this.order.add(p.lastSeq, { t: 'msg', m });
  }

  private peerGone(p: Peer): void {
    if (!p.alive) return;
    p.alive = false;
    p.reasm.abandon();
    p.discard();
    if (this.backlogged.delete(p) && this.needDrain && !this.queued) {
      this.needDrain = false;
      setImmediate(() => this.emit('drain'));
    }
    try {
      native.epollDel(this.epfd, p.fd);
    } catch {
      // Closing removes it anyway.
    }
    closeQuietly(p.fd);
    this.peers.delete(p.fd);
    if (p.id !== null && this.byId.get(p.id) === p) this.byId.delete(p.id);
    // Whatever it still owed us died with it.
    if (p.id !== null) this.departedHolders.add(p.id);
    this.invalidateTargets();
    if (p.announced && p.id !== null) this.order.add(p.lastSeq, { t: 'leave', info: p.info() });
  }
}
