// The user backend: a brokerless full mesh of AF_UNIX SOCK_SEQPACKET
// connections among the members of a bus directory (see layout.ts).
//
// Ordering: broadcasts are numbered and fanned out under the directory's
// flock (native seqSendToMany), and receivers deliver through an OrderBuffer,
// so every member sees broadcasts in one order. Lossless networks check that
// every receiver has room before taking a number (all-or-nothing), keep what
// could not go in one bounded FIFO and retry when the blocking peer becomes
// writable; lossy networks drop for the full receiver and tell it in the next
// datagram's `dropped` field. The lock is never held across an event-loop
// turn, so a member blocked on it always gets it within one fan-out.
//
// Coalescing: the first broadcast of an event-loop turn goes out at once
// (low-rate latency is one hop); further broadcasts in the same turn with
// the same bloom are packed into one Batch datagram (batch.ts), sent at the
// end of the turn (process.nextTick) or earlier when anything that must not
// overtake them happens (a unicast, a change of targets, another bloom,
// close). One sequence number and one send per receiver then carry the
// whole batch; receivers unpack it in order.
import { EventEmitter } from 'node:events';
import { chmodSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import native from '@ipnbus/native';
import type { BackendKind, Credentials, IncomingMessage, MemberInfo, Network, NetworkEvents } from '../network.js';
import { BLOOM_BYTES } from '../network.js';
import { TransportError, fromErrno } from '../errors.js';
import { BLOOM_OFFSET, DROPPED_OFFSET, HEADER_BYTES, Kind, MAGIC0, MAGIC1, SEQ_OFFSET, VERSION, readHeader, writeHeader } from '../header.js';
import { bloomMatches, checkBloom, checkMasks } from '../bloom.js';
import { checkMessage, fragment, type Datagram } from '../fragment.js';
import { Reassembler } from '../reassembly.js';
import { OrderBuffer } from '../order.js';
import { batchBuilderFor, batchTakes, unpackBatch, type OpenBatch } from '../batch.js';
import { TurnTracker } from '../turn.js';
import { SOCK_RE, closeQuietly, setBuffer, lockPolling, nextMemberId, openLock, readMarker, sockPath, unlock } from './layout.js';

const C = native.constants;
const AF_UNIX = C.AF_UNIX!;
const SOCK_SEQPACKET = C.SOCK_SEQPACKET!;
const EAGAIN = C.EAGAIN!;
const MSG_DONTWAIT = C.MSG_DONTWAIT!;

/** Payload bytes per datagram: 64 KiB keeps copies cheap and fits SO_SNDBUF. */
export const USER_FRAG_PAYLOAD = 64 * 1024;
const RECV_MAX = HEADER_BYTES + USER_FRAG_PAYLOAD;
/** Requested per-connection send buffer (the kernel caps it at wmem_max). */
const SNDBUF_REQUEST = 2 * 1024 * 1024;
const VLEN = 64;
const MAX_EVENTS = 1024;
/** Hard cap on bytes waiting in the send queue; past it sends throw ENOBUFS. */
const MAX_QUEUED_BYTES = 512 * 1024 * 1024;
const LISTEN_BACKLOG = 4096;
// recvReadyPacked meta flags (native/src/addon.cc).
const F_TRUNC = 1;
const F_EOF = 2;
const F_NOTIFY = 4;
const F_MORE = 8;
const F_PASS_END = 16;
/** The payload bound of a batch. */
const BATCH_PAYLOAD_MAX = USER_FRAG_PAYLOAD;

interface Peer {
  fd: number;
  /** null until its Hello arrives (peers that connected to us). */
  id: bigint | null;
  creds: Credentials;
  masks: Uint8Array[] | null;
  /** Lossy: messages we dropped for it and have not reported yet. */
  owed: number;
  /** Sequence number of the last broadcast datagram read from it. */
  lastSeq: number;
  /** Upper bound of its send-buffer charge (see seqSendToMany). */
  est: number;
  reasm: Reassembler;
  alive: boolean;
  announced: boolean;
  /**
   * The read (see drain) during which this connection was accepted or made.
   * A read reports sockets by fd number, and a number freed while its
   * results are handled can be handed to a connection accepted in between:
   * its results belong to peers from earlier reads only.
   */
  since: number;
}

/** Per outgoing message state shared by its fragments. */
interface OutMsg {
  /** Lossy: peers that missed a fragment, skipped for the rest. */
  skipped: Set<Peer> | null;
  /** Loopback copies to deliver to ourselves once it has a number. */
  loop: Buffer[] | null;
  /** Messages this datagram carries (a batch: several; lossy drop counts). */
  count: number;
}

/** Broadcasts waiting for the end of the turn, all with one bloom. */
interface PendingBatch extends OpenBatch {
  firstMsgId: number;
  loop: Buffer[] | null;
}

type OutItem =
  | { kind: 'bcast'; dgram: Datagram; targets: Peer[]; msg: OutMsg; last: boolean }
  | { kind: 'direct'; peer: Peer; dgram: Datagram; fds: number[] | null; msg: OutMsg; control: boolean };

type Delivery =
  | { t: 'msg'; m: IncomingMessage }
  | { t: 'join'; info: MemberInfo }
  | { t: 'leave'; info: MemberInfo };

export interface UserOpenOptions {
  loopback: boolean;
  credentials: boolean;
  /** In force before the hello that announces us, so peers never see us unfiltered. */
  filter: Uint8Array[] | null;
}

function info(p: Peer): MemberInfo {
  return { id: p.id!, pid: p.creds.pid, uid: p.creds.uid, gid: p.creds.gid };
}

function encodeMasks(masks: Uint8Array[] | null): Buffer {
  const n = masks === null ? 0xffffffff : masks.length;
  const b = Buffer.alloc(4 + (masks?.length ?? 0) * BLOOM_BYTES);
  b.writeUInt32LE(n, 0);
  masks?.forEach((m, i) => b.set(m, 4 + i * BLOOM_BYTES));
  return b;
}

function decodeMasks(b: Buffer, off: number): Uint8Array[] | null {
  if (b.length < off + 4) return null;
  const n = b.readUInt32LE(off);
  if (n === 0xffffffff) return null;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n && off + 4 + (i + 1) * BLOOM_BYTES <= b.length; i++) {
    out.push(Uint8Array.from(b.subarray(off + 4 + i * BLOOM_BYTES, off + 4 + (i + 1) * BLOOM_BYTES)));
  }
  return out;
}

export class UserNetwork extends EventEmitter<NetworkEvents> implements Network {
  readonly backend: BackendKind = 'user';
  readonly path: string;
  readonly id: bigint;
  readonly lossless: boolean;

  private readonly loopback: boolean;
  private readonly credentials: boolean;
  private readonly lockFd: number;
  /** The lock file's counters, mapped: [0] last sequence number. */
  private readonly counter: Buffer;
  private readonly listenFd: number;
  private readonly epfd: number;
  private readonly poller: InstanceType<typeof native.Poller>;
  private readonly peers = new Map<number, Peer>();
  private readonly byId = new Map<bigint, Peer>();
  private readonly order = new OrderBuffer<Delivery>();
  private readonly selfCreds: Credentials;
  private filter: Uint8Array[] | null = null;
  private closed = false;
  private nextMsgId = 1;
  private sndbuf = 0;
  /** Batched reads done so far (see Peer.since). */
  private reads = 0;

  private queue: OutItem[] = [];
  private queuedBytes = 0;
  private needDrain = false;
  private wPoller: InstanceType<typeof native.Poller> | null = null;
  private wPollerFd = -1;
  private drainScheduled = false;
  private flushScheduled = false;
  /** Pending retry of a fan-out that found the lock held (see retryWhenUnlocked). */
  private lockRetry: NodeJS.Timeout | null = null;
  private lockPause = 1;
  private carryDropped = 0;
  private readonly turn = new TurnTracker(() => {
    try {
      this.flushBatch();
    } catch (err) {
      this.emit('error', fromErrno(err, 'broadcasting'));
    }
  });
  private batch: PendingBatch | null = null;
  /** Statistic: batches sent and the messages they carried. */
  batchesSent = 0;
  batchedMessages = 0;

  // Fast path caches: the fan-out set when no peer filters.
  private allPeers: Peer[] | null = null;
  private allFds: Int32Array | null = null;
  private results = new Int32Array(64);
  private est = new Float64Array(64);
  private readonly hdr = Buffer.alloc(HEADER_BYTES);

  /** Statistic: lossless sends that hit EAGAIN despite the room check. */
  lateResends = 0;

  private constructor(dir: string, id: bigint, lossless: boolean, opts: UserOpenOptions, lockFd: number,
    listenFd: number, epfd: number) {
    super();
    this.path = dir;
    this.id = id;
    this.lossless = lossless;
    this.loopback = opts.loopback;
    this.credentials = opts.credentials;
    this.filter = opts.filter;
    this.lockFd = lockFd;
    this.counter = native.mmapShared(lockFd, 16);
    this.listenFd = listenFd;
    this.epfd = epfd;
    this.selfCreds = { pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    this.poller = new native.Poller();
    this.poller.start(epfd, true, false, () => this.drain());
  }

  /** Joins (the directory already exists and carries the marker). */
  static async join(dir: string, opts: UserOpenOptions): Promise<UserNetwork> {
    const marker = await readMarker(dir);
    const lockFd = openLock(dir);
    let listenFd = -1;
    let epfd = -1;
    const connected: { fd: number; id: bigint; creds: Credentials }[] = [];
    let net: UserNetwork;
    try {
      listenFd = native.socket(AF_UNIX, SOCK_SEQPACKET, 0);
      epfd = native.epollCreate();
      const later: { id: bigint; path: string }[] = [];
      let id: bigint;
      // Under the lock no broadcast is in flight and no other member is
      // joining, so the set of sockets we see is exactly the membership.
      // Waited for on the event loop: this process may be a member already.
      await lockPolling(lockFd, dir);
      try {
        id = nextMemberId(lockFd);
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
          const r = UserNetwork.connectPeer(join(dir, name));
          if (r === 'later') later.push({ id: peerId, path: join(dir, name) });
          else if (r !== null) connected.push({ ...r, id: peerId });
        }
      } finally {
        unlock(lockFd);
      }
      // A listener whose backlog was full: retry outside the lock (its owner
      // needs its event loop, which the lock would stall).
      for (const l of later) {
        for (let attempt = 0; attempt < 100; attempt++) {
          await new Promise((r) => setTimeout(r, 20));
          const r = UserNetwork.connectPeer(l.path);
          if (r === 'later') continue;
          if (r !== null) connected.push({ ...r, id: l.id });
          break;
        }
      }
      net = new UserNetwork(dir, id, marker.lossless, opts, lockFd, listenFd, epfd);
    } catch (err) {
      for (const c of connected) closeQuietly(c.fd);
      if (listenFd >= 0) closeQuietly(listenFd);
      if (epfd >= 0) closeQuietly(epfd);
      closeQuietly(lockFd);
      throw fromErrno(err, `joining ${dir}`);
    }
    for (const c of connected) {
      const p = net.addPeer(c.fd, c.id, c.creds);
      // Existing members are announced like the kernel's snapshot: first.
      p.announced = true;
      net.order.add(0, { t: 'join', info: info(p) });
    }
    net.scheduleDrain();
    return net;
  }

  /** Connects to a member's listener: fd + its creds, null if it is dead. */
  private static connectPeer(path: string): { fd: number; creds: Credentials } | 'later' | null {
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
        return null;
      }
      if (code === 'ENOENT') return null;
      throw err;
    }
  }

  private addPeer(fd: number, id: bigint | null, creds: Credentials): Peer {
    this.setSndbuf(fd);
    const p: Peer = { fd, id, creds, masks: null, owed: 0, lastSeq: 0, est: Number.POSITIVE_INFINITY,
      reasm: new Reassembler(), alive: true, announced: false, since: this.reads };
    this.peers.set(fd, p);
    if (id !== null) this.byId.set(id, p);
    native.epollAdd(this.epfd, fd, false);
    this.invalidateTargets();
    this.sendHello(p);
    return p;
  }

  private setSndbuf(fd: number): void {
    setBuffer(fd, C.SO_SNDBUFFORCE!, C.SO_SNDBUF!, SNDBUF_REQUEST);
    if (this.sndbuf === 0) this.sndbuf = native.getsockoptInt(fd, C.SOL_SOCKET!, C.SO_SNDBUF!);
  }

  private sendHello(p: Peer): void {
    const body = Buffer.concat([Buffer.alloc(8), encodeMasks(this.filter)]);
    body.writeBigUInt64LE(this.id, 0);
    this.queueDirect(p, fragment(Kind.Hello, body, undefined, 0, USER_FRAG_PAYLOAD)[0]!, null, true);
  }

  // ---- public API --------------------------------------------------------

  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const p of this.byId.values()) if (p.alive) out.push(info(p));
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
    if (this.turn.coalesce(payload.length, this.queue.length > 0)) {
      // Not the first of this turn (or behind a queue): coalesce.
      if (this.batch !== null && !batchTakes(this.batch, bloom, payload.length, BATCH_PAYLOAD_MAX)) this.flushBatch();
      if (this.batch === null && this.targets(bloom).length === 0 && !selfWants) return this.queue.length === 0;
      this.reserve(payload.length + 2 * HEADER_BYTES + (this.batch?.builder.bytes ?? 0));
      if (this.batch === null) {
        this.batch = { builder: batchBuilderFor(payload.length, BATCH_PAYLOAD_MAX), bloom, firstMsgId: msgId, loop: null };
      }
      const rec = this.batch.builder.append(payload);
      if (selfWants) (this.batch.loop ??= []).push(rec);
      this.turn.endSoon();
      if (this.queue.length > 0) {
        this.needDrain = true;
        return false;
      }
      return true;
    }
    // Whatever is pending goes first: messages leave in the order given.
    this.flushBatch();
    if (payload.length <= USER_FRAG_PAYLOAD && this.queue.length === 0) {
      // Fast path: one datagram, nothing queued ahead of it.
      const targets = this.targets(bloom);
      if (targets.length === 0 && !selfWants) return true;
      writeHeader(this.hdr, Kind.Broadcast, bloom, msgId, 0, 1, payload.length);
      const msg: OutMsg = { skipped: null, loop: null, count: 1 };
      const seq = this.seqSend(targets, [this.hdr, payload], msg, bloom === undefined ? this.allFds : null, 0);
      if (seq >= 0) {
        if (selfWants) this.loopDeliver(seq, payload);
        this.turn.sent();
        return this.queue.length === 0;
      }
      // Blocked: nothing went out; queue it whole below.
    }
    const dgrams = fragment(Kind.Broadcast, payload, bloom, msgId, USER_FRAG_PAYLOAD);
    const targets = this.targets(bloom).slice();
    const msg: OutMsg = { skipped: null, loop: selfWants ? [payload] : null, count: 1 };
    this.reserve(payload.length + dgrams.length * HEADER_BYTES);
    dgrams.forEach((d, i) => this.queue.push({ kind: 'bcast', dgram: d, targets, msg, last: i === dgrams.length - 1 }));
    this.queuedBytes += payload.length + dgrams.length * HEADER_BYTES;
    this.flush();
    if (this.queue.length > 0) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  send(member: bigint, bytes: Uint8Array, fds?: number[]): boolean {
    this.checkOpen();
    if (typeof member !== 'bigint') throw new TransportError('ERR_INVALID_ARG', 'member must be a bigint id');
    const payload = checkMessage(bytes);
    if (fds !== undefined && (!Array.isArray(fds) || fds.some((f) => !Number.isInteger(f) || f < 0))) {
      throw new TransportError('ERR_INVALID_ARG', 'fds must be an array of file descriptors');
    }
    // A unicast must not overtake this sender's earlier broadcasts.
    this.flushBatch();
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
    if (payload.length <= USER_FRAG_PAYLOAD && this.queue.length === 0) {
      // Fast path (calls and replies): one datagram straight out, no queue
      // entry, no per-message header allocation.
      writeHeader(this.hdr, Kind.Unicast, undefined, msgId, 0, 1, payload.length);
      if (!this.lossless) this.hdr.writeUInt32LE(p.owed, DROPPED_OFFSET);
      const r = native.sendmsg(p.fd, [this.hdr, payload], AF_UNIX, null, fds && fds.length > 0 ? fds : null,
        MSG_DONTWAIT);
      // Its charge is no longer tracked: measure it before the next fan-out.
      p.est = Number.POSITIVE_INFINITY;
      if (r !== -EAGAIN) {
        // Other failures (EPIPE, ECONNRESET): the peer is going; its hang-up
        // arrives through the receive path, as for queued sends.
        if (r >= 0 && !this.lossless) p.owed = 0;
        return true;
      }
      if (!this.lossless) {
        p.owed++;
        return true;
      }
      // Lossless and full: it waits in the queue like any blocked send.
    }
    const dgrams = fragment(Kind.Unicast, payload, undefined, msgId, USER_FRAG_PAYLOAD);
    const msg: OutMsg = { skipped: null, loop: null, count: 1 };
    this.reserve(payload.length + dgrams.length * HEADER_BYTES);
    dgrams.forEach((d, i) => this.queueDirect(p, d, i === 0 && fds && fds.length > 0 ? fds : null, false, msg));
    if (this.queue.length > 0) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  flushPending(): void {
    this.checkOpen();
    this.flushBatch();
  }

  setFilter(masks: Uint8Array[] | null): void {
    this.checkOpen();
    this.filter = checkMasks(masks);
    this.flushBatch();
    const body = encodeMasks(this.filter);
    for (const p of this.peers.values()) {
      if (p.alive) this.queueDirect(p, fragment(Kind.Filter, body, undefined, 0, USER_FRAG_PAYLOAD)[0]!, null, true);
    }
  }

  /** Sends are waiting in the queue (see Network.queued). */
  get queued(): boolean {
    return this.queue.length > 0;
  }

  close(): void {
    if (this.closed) return;
    // Broadcasts already accepted go out first, as they would have without
    // coalescing; what still cannot go is discarded like the queue.
    try {
      this.flushBatch();
    } catch {
      // Closing anyway.
    }
    this.closed = true;
    this.poller.close();
    if (this.lockRetry !== null) clearTimeout(this.lockRetry);
    this.lockRetry = null;
    if (this.wPoller !== null) this.wPoller.close();
    this.wPoller = null;
    for (const p of this.peers.values()) {
      p.alive = false;
      p.reasm.abandon();
      closeQuietly(p.fd);
    }
    this.peers.clear();
    this.byId.clear();
    this.queue = [];
    this.queuedBytes = 0;
    try {
      unlinkSync(sockPath(this.path, this.id));
    } catch {
      // The directory went away first.
    }
    closeQuietly(this.listenFd);
    closeQuietly(this.epfd);
    closeQuietly(this.lockFd);
  }

  // ---- sending ---------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new TransportError('ERR_CLOSED', 'the network is closed');
  }

  private reserve(bytes: number): void {
    if (this.queuedBytes + bytes > MAX_QUEUED_BYTES) {
      throw new TransportError('ENOBUFS', `send queue full (${this.queuedBytes} bytes waiting): wait for 'drain'`);
    }
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
    return this.allPeers.filter((p) => bloomMatches(bloom, p.masks));
  }

  /**
   * One numbered fan-out. Returns the sequence number, or -1 when a lossless
   * receiver had no room (then nothing was sent and we wait for it).
   */
  private seqSend(targets: Peer[], parts: Buffer[], msg: OutMsg, fds: Int32Array | null, queuePos: number): number {
    let list = targets;
    if (msg.skipped !== null || targets.some((p) => !p.alive)) {
      list = targets.filter((p) => p.alive && !msg.skipped?.has(p));
      fds = null;
    }
    const n = list.length;
    if (fds === null || fds.length !== n) fds = Int32Array.from(list, (p) => p.fd);
    if (this.results.length < n) {
      this.results = new Int32Array(n * 2);
      this.est = new Float64Array(n * 2);
    }
    const res = this.results;
    const est = this.est;
    let drops: Int32Array | null = null;
    if (this.lossless) {
      for (let i = 0; i < n; i++) est[i] = list[i]!.est;
    } else {
      drops = Int32Array.from(list, (p) => p.owed);
    }
    const seq = native.seqSendToMany(this.lockFd, this.counter, fds, this.lossless ? est : null, drops, parts,
      SEQ_OFFSET, DROPPED_OFFSET, this.lossless ? this.sndbuf : 0, res);
    if (seq === 0) {
      // Another process holds the lock: nothing went out; try again soon.
      this.retryWhenUnlocked();
      return -1;
    }
    this.lockPause = 1;
    if (this.lossless) for (let i = 0; i < n; i++) list[i]!.est = est[i]!;
    if (seq < 0) {
      this.waitWritable(list[-seq - 1]!);
      return -1;
    }
    for (let i = 0; i < n; i++) {
      const r = res[i]!;
      const p = list[i]!;
      if (r >= 0) {
        if (drops !== null) p.owed = 0;
      } else if (r === -EAGAIN) {
        if (!this.lossless) {
          p.owed += msg.count;
          (msg.skipped ??= new Set()).add(p);
        } else {
          // The room check should make this impossible; never lose it.
          this.lateResends++;
          const copy: Datagram = { parts: [Buffer.from(parts[0]!), ...parts.slice(1).map((b) => Buffer.from(b))],
            bytes: parts.reduce((a, b) => a + b.length, 0) };
          this.queue.splice(queuePos, 0, { kind: 'direct', peer: p, dgram: copy, fds: null, msg, control: true });
          this.queuedBytes += copy.bytes;
          this.needDrain = true;
          this.scheduleFlush();
        }
      }
      // Other errors (EPIPE, ECONNRESET): the peer is going; its hang-up
      // arrives through the receive path.
    }
    return seq;
  }

  private queueDirect(p: Peer, d: Datagram, fds: number[] | null, control: boolean, msg?: OutMsg): void {
    this.queue.push({ kind: 'direct', peer: p, dgram: d, fds, msg: msg ?? { skipped: null, loop: null, count: 1 }, control });
    this.queuedBytes += d.bytes;
    if (this.queue.length === 1) this.flush();
  }

  /** Sends queued datagrams in order until one cannot go. */
  private flush(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      const it = this.queue[0]!;
      if (it.kind === 'bcast') {
        const seq = this.seqSend(it.targets, it.dgram.parts, it.msg, null, 1);
        if (seq < 0) return;
        if (it.last && it.msg.loop !== null) for (const l of it.msg.loop) this.loopDeliver(seq, l);
      } else if (it.peer.alive && !it.msg.skipped?.has(it.peer)) {
        const h = it.dgram.parts[0]!;
        if (!this.lossless && !it.control) h.writeUInt32LE(it.peer.owed, DROPPED_OFFSET);
        const r = native.sendmsg(it.peer.fd, it.dgram.parts, AF_UNIX, null, it.fds, MSG_DONTWAIT);
        // Its charge is no longer tracked: measure it before the next fan-out.
        it.peer.est = Number.POSITIVE_INFINITY;
        if (r === -EAGAIN) {
          if (this.lossless || it.control) {
            this.waitWritable(it.peer);
            return;
          }
          it.peer.owed++;
          (it.msg.skipped ??= new Set()).add(it.peer);
        } else if (r >= 0 && !this.lossless && !it.control) {
          it.peer.owed = 0;
        }
      }
      this.queue.shift();
      this.queuedBytes -= it.dgram.bytes;
    }
    if (this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private waitWritable(p: Peer): void {
    if (this.wPoller !== null && this.wPollerFd !== p.fd) {
      this.wPoller.close();
      this.wPoller = null;
    }
    if (this.wPoller === null) {
      this.wPoller = new native.Poller();
      this.wPollerFd = p.fd;
    }
    this.wPoller.start(p.fd, false, true, () => {
      this.wPoller?.stop();
      this.flush();
    });
  }

  /** Sends the pending batch now (or queues it behind what is waiting). */
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
    const msg: OutMsg = { skipped: null, loop: b.loop, count: builder.count };
    if (this.queue.length === 0) {
      const seq = this.seqSend(targets, [h, payload], msg, b.bloom === undefined ? this.allFds : null, 0);
      if (seq >= 0) {
        if (b.loop !== null) for (const l of b.loop) this.loopDeliver(seq, l);
        return;
      }
    }
    // Blocked: it waits in the queue like any broadcast, all or nothing.
    this.queue.push({ kind: 'bcast', dgram: { parts: [h, payload], bytes: HEADER_BYTES + payload.length },
      targets: targets.slice(), msg, last: true });
    this.queuedBytes += HEADER_BYTES + payload.length;
    this.needDrain = true;
  }

  /** Retries the queue after a growing pause (1 to 20 ms) while the lock is held elsewhere. */
  private retryWhenUnlocked(): void {
    if (this.lockRetry !== null) return;
    this.lockRetry = setTimeout(() => {
      this.lockRetry = null;
      this.flush();
    }, this.lockPause);
    this.lockPause = Math.min(this.lockPause * 2, 20);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
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
    try {
      for (let round = 0; round < 4 && !this.closed; round++) {
        // Up to 4 passes over the sockets in one native call.
        const read = ++this.reads;
        const batch = native.recvReadyPacked(this.epfd, MAX_EVENTS, VLEN, RECV_MAX, 4);
        if (batch === null) {
          // Nothing arrived since everything pending was read: all of it
          // is in order.
          this.deliver(Number.POSITIVE_INFINITY);
          break;
        }
        const { data, meta, extras } = batch;
        // The highest number proven safe by a complete pass (see order.ts):
        // what had been read when that pass started.
        let safe = -1;
        let passStart = this.order.maxSeen;
        let complete = true;
        for (let i = 0; i < meta.length; i += 5) {
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
          this.deliver(Number.POSITIVE_INFINITY);
          break;
        }
        if (safe >= 0) this.deliver(safe);
      }
    } catch (err) {
      this.emit('error', fromErrno(err, 'receiving'));
    }
    if (this.order.size > 0 && !this.closed) this.scheduleDrain();
  }

  private deliver(horizon: number): void {
    for (const d of this.order.take(horizon)) {
      if (this.closed) return;
      if (d.t === 'msg') this.emit('message', d.m);
      else if (d.t === 'join') this.emit('join', d.info);
      else this.emit('leave', d.info);
    }
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

  private onDatagram(p: Peer, bytes: Buffer, fds: number[], truncated: boolean): void {
    const kind = bytes.length >= HEADER_BYTES ? bytes[3] : 0;
    if (!truncated && (kind === Kind.Broadcast || kind === Kind.Unicast) && p.id !== null && !p.reasm.inProgress &&
      bytes[0] === MAGIC0 && bytes[1] === MAGIC1 && bytes[2] === VERSION &&
      bytes.readUInt32LE(40) === 1 && bytes.readUInt32LE(36) === 0) {
      // The common case, a whole message in one datagram: no reassembly.
      if (kind === Kind.Broadcast) p.lastSeq = bytes.readUInt32LE(SEQ_OFFSET) + bytes.readUInt32LE(SEQ_OFFSET + 4) * 2 ** 32;
      this.accept(p, kind === Kind.Unicast, bytes, bytes.subarray(HEADER_BYTES), fds,
        bytes.readUInt32LE(DROPPED_OFFSET));
      return;
    }
    const h = truncated ? null : readHeader(bytes);
    if (h === null) {
      // Not ours or cut short: a protocol violation by that peer. Drop it
      // and any message in progress rather than deliver something wrong.
      for (const fd of fds) closeQuietly(fd);
      p.reasm.abandon();
      return;
    }
    switch (h.kind) {
      case Kind.Broadcast:
      case Kind.Unicast: {
        if (h.kind === Kind.Broadcast) p.lastSeq = h.seq;
        const a = p.reasm.push(h, bytes, fds);
        if (a === null || p.id === null) return;
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
        if (recs === null || p.id === null) return;
        if (!bloomMatches(bytes.subarray(BLOOM_OFFSET, BLOOM_OFFSET + BLOOM_BYTES), this.filter)) {
          this.carryDropped += h.dropped;
          return;
        }
        let dropped = h.dropped + this.carryDropped;
        this.carryDropped = 0;
        for (const r of recs) {
          const m: IncomingMessage = { from: p.id, bytes: r, fds: [], dropped, unicast: false };
          if (this.credentials) m.creds = p.creds;
          dropped = 0;
          this.order.add(p.lastSeq, { t: 'msg', m });
        }
        return;
      }
      case Kind.Hello: {
        if (bytes.length < HEADER_BYTES + 8) return;
        const id = bytes.readBigUInt64LE(HEADER_BYTES);
        if (p.id === null) {
          p.id = id;
          this.byId.set(id, p);
        }
        p.masks = decodeMasks(bytes, HEADER_BYTES + 8);
        this.invalidateTargets();
        if (!p.announced) {
          p.announced = true;
          this.order.add(p.lastSeq, { t: 'join', info: info(p) });
        }
        return;
      }
      case Kind.Filter:
        p.masks = decodeMasks(bytes, HEADER_BYTES);
        this.invalidateTargets();
        return;
      default:
        for (const fd of fds) closeQuietly(fd);
    }
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
    if (this.wPoller !== null && this.wPollerFd === p.fd) {
      this.wPoller.close();
      this.wPoller = null;
      this.scheduleFlush();
    }
    try {
      native.epollDel(this.epfd, p.fd);
    } catch {
      // Closing removes it anyway.
    }
    closeQuietly(p.fd);
    this.peers.delete(p.fd);
    if (p.id !== null && this.byId.get(p.id) === p) this.byId.delete(p.id);
    this.invalidateTargets();
    if (p.announced && p.id !== null) this.order.add(p.lastSeq, { t: 'leave', info: info(p) });
  }
}
