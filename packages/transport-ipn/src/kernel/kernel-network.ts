// The kernel backend: one AF_IPN socket through the addon. The kernel gives
// total order, member ids, credentials, membership events, loss accounting
// and backpressure; this class adds fragmentation, the bloom socket filter,
// a bounded send queue for MSG_DONTWAIT's EAGAIN, and coalescing (coalescer.ts):
// a burst of broadcasts with one bloom travels as one Batch datagram, so
// the kernel clones, queues and wakes each receiver once for all of them.
import { chmodSync, unlinkSync } from 'node:fs';
import native, { type RecvItem } from '@ipnbus/native';
import type { BackendKind, IncomingMessage, MemberInfo, Network } from '../network.js';
import { NetworkBase } from '../network-base.js';
import { TransportError, fromErrno } from '../errors.js';
import { HEADER_BYTES, Kind, bloomOf, readHeader, wholeMessageKind } from '../header.js';
import { bloomMatches, checkBloom, checkMasks } from '../bloom.js';
import { compileBloomFilter } from '../bpf.js';
import { checkMessage, checkUnicast, fragment, type Datagram } from '../fragment.js';
import { Reassembler, ReassemblyBudget } from '../reassembly.js';
import { procMembers } from './proc-members.js';
import { batchMessages, unpackBatch } from '../batch.js';
import { Coalescer, type Flushed } from '../coalescer.js';
import { closeQuietly, setBuffer } from '../fds.js';

const C = native.constants;
const { EAGAIN, MSG_DONTWAIT, SOL_IPN } = C;
const VLEN = 64;
const MAX_QUEUED_BYTES = 512 * 1024 * 1024;
const RCVBUF_REQUEST = 8 * 1024 * 1024;

/**
 * What ipn.ko's refusals of SCM_RIGHTS files mean (kernel/README.md,
 * "Passing files"), as errors a caller can act on.
 */
function fdRefusal(err: unknown): TransportError {
  const code = (err as { code?: unknown } | null)?.code;
  // Errno 95, EOPNOTSUPP, which libuv (and so the addon) names ENOTSUP.
  if (code === 'ENOTSUP') {
    return new TransportError('EOPNOTSUPP',
      'an fd of a kind AF_IPN cannot carry (an AF_UNIX socket or an io_uring instance: it could close a '
      + 'reference cycle); pass it over an AF_UNIX connection instead', 'sendmsg');
  }
  if (code === 'ETOOMANYREFS') {
    return new TransportError('ETOOMANYREFS',
      'too many fds in flight: this user\'s fds in unread AF_IPN messages would exceed its RLIMIT_NOFILE',
      'sendmsg');
  }
  return fromErrno(err, 'passing fds');
}

export interface KernelOpenOptions {
  create: boolean;
  mode: number;
  lossless: boolean;
  loopback: boolean;
  credentials: boolean;
  /** Attached before bind/connect: no broadcast reaches us unfiltered. */
  filter: Uint8Array[] | null;
  /** Bound of all senders' unfinished fragmented messages (default REASSEMBLY_BUDGET_BYTES). */
  reassemblyBytes?: number;
}

interface OutItem {
  dgram: Datagram;
  dest: bigint | null;
  fds: number[] | null;
}

export class KernelNetwork extends NetworkBase<undefined> implements Network {
  readonly backend: BackendKind = 'kernel';
  readonly path: string;
  readonly id: bigint;
  readonly mtu: number;

  private readonly fd: number;
  private readonly family: number;
  private readonly fragPayload: number;
  private readonly poller: InstanceType<typeof native.Poller>;
  private readonly known = new Map<bigint, MemberInfo>();
  private readonly reasm = new Map<bigint, Reassembler>();
  /** What all senders' unfinished fragmented messages may reserve together. */
  private readonly budget: ReassemblyBudget;
  private readonly credentials: boolean;
  private filter: Uint8Array[] | null = null;
  /** The filter could not be compiled to BPF: check it here instead. */
  private filterInUser = false;
  private nextMsgId = 1;
  private queue: OutItem[] = [];
  private queuedBytes = 0;
  private needDrain = false;
  private writeWait = false;
  private carryDropped = 0;
  /** Read at open, delivered on the first drain (keeps the kernel's order). */
  private backlog: RecvItem[] = [];
  private readonly idCache = new Map<number, bigint>();
  /** Senders with a fragmented message half-way (slow path while > 0). */
  private partials = 0;
  private readonly coalescing: boolean;
  protected readonly coalescer: Coalescer;

  private constructor(path: string, fd: number, family: number, opts: KernelOpenOptions) {
    super();
    this.path = path;
    this.fd = fd;
    this.family = family;
    this.credentials = opts.credentials;
    this.budget = new ReassemblyBudget(opts.reassemblyBytes);
    this.filter = opts.filter;
    this.filterInUser = opts.filter !== null && compileBloomFilter(opts.filter) === null;
    this.id = native.getsockoptU64(fd, SOL_IPN, C.IPN_SO_MEMBER_ID);
    const ni = native.getsockoptBuffer(fd, SOL_IPN, C.IPN_SO_NETINFO, 24);
    this.mtu = ni.length >= 12 ? ni.readUInt32LE(8) : C.IPN_MTU_DEFAULT;
    // The kernel counts lost datagrams, not the messages a lost batch held:
    // on a lossy network every broadcast travels alone so `dropped` stays exact.
    this.coalescing = ni.length >= 8 && (ni.readUInt32LE(4) & C.IPN_FLAG_LOSSLESS) !== 0;
    this.fragPayload = this.mtu - HEADER_BYTES;
    this.coalescer = new Coalescer(this.fragPayload, (f) => this.sendBatch(f), null,
      (err) => this.emit('error', fromErrno(err, 'broadcasting')));
    this.poller = new native.Poller();
    // The kernel queued the membership snapshot at join: read it now so
    // members() is complete when open() resolves (like the user backend),
    // and replay it, with anything else already queued, as events once the
    // caller has had a chance to listen.
    for (let round = 0; round < 64; round++) {
      const items = native.recvmmsg(fd, VLEN, this.mtu);
      for (const it of items) {
        this.backlog.push(it);
        const ev = it.event;
        if (ev === undefined || ev.id === this.id) continue;
        if (ev.type === 'join') this.known.set(ev.id, { id: ev.id, pid: ev.pid, uid: ev.uid, gid: ev.gid });
        else if (ev.type === 'leave') this.known.delete(ev.id);
      }
      if (items.length < VLEN) break;
    }
    setImmediate(() => this.drain());
    this.startPoll();
  }

  static async open(path: string, opts: KernelOpenOptions): Promise<KernelNetwork> {
    const family = native.ipnFamily();
    if (family === null) throw new TransportError('ERR_NO_KERNEL', 'the ipn kernel module is not loaded');
    let fd = -1;
    try {
      if (opts.create) {
        fd = KernelNetwork.socket(family, C.IPN_BROADCAST, opts);
        native.setsockoptInt(fd, SOL_IPN, C.IPN_SO_MODE, opts.mode);
        native.setsockoptInt(fd, SOL_IPN, C.IPN_SO_FLAGS, opts.lossless ? C.IPN_FLAG_LOSSLESS : 0);
        try {
          native.bindIpn(fd, family, path);
          // The node was made with mode & ~umask; the network's access
          // control is exactly what the creator asked for.
          chmodSync(path, opts.mode);
          return new KernelNetwork(path, fd, family, opts);
        } catch (err) {
          if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
          closeQuietly(fd);
          fd = -1;
          // Somebody created it first: join theirs.
        }
      }
      fd = KernelNetwork.socket(family, C.IPN_ANY, opts);
      try {
        native.connectIpn(fd, family, path);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ECONNREFUSED' || !opts.create) throw err;
        // A stale node left by a network whose members all died: replace it.
        closeQuietly(fd);
        fd = -1;
        unlinkSync(path);
        return KernelNetwork.open(path, opts);
      }
      return new KernelNetwork(path, fd, family, opts);
    } catch (err) {
      if (fd >= 0) closeQuietly(fd);
      throw fromErrno(err, `opening ${path}`);
    }
  }

  private static socket(family: number, protocol: number, opts: KernelOpenOptions): number {
    const fd = native.socket(family, C.SOCK_RAW, protocol);
    // Room for a burst of full-size datagrams: the default receive buffer
    // (~208 KiB) holds one 128 KiB datagram, so a lossy member would lose
    // every fragmented message whenever it is a little behind.
    setBuffer(fd, C.SO_RCVBUFFORCE, C.SO_RCVBUF, RCVBUF_REQUEST);
    try {
      // Before joining, so the membership snapshot comes with the join.
      native.setsockoptInt(fd, SOL_IPN, C.IPN_SO_MEMBER_EVENTS, 1);
      native.setsockoptInt(fd, SOL_IPN, C.IPN_SO_PASSCRED, opts.credentials ? 1 : 0);
      native.setsockoptInt(fd, SOL_IPN, C.IPN_SO_LOOPBACK, opts.loopback ? 1 : 0);
      if (opts.filter !== null) KernelNetwork.attach(fd, opts.filter);
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
    return fd;
  }

  private startPoll(): void {
    this.poller.start(this.fd, true, this.writeWait, (_status, events) => {
      if ((events & C.POLL_WRITABLE) !== 0 && this.writeWait) {
        this.writeWait = false;
        this.startPoll();
        this.flush();
      }
      if ((events & (C.POLL_READABLE | C.POLL_DISCONNECT)) !== 0) this.drain();
    });
  }

  members(): MemberInfo[] {
    return [...this.known.values()];
  }

  /** After lost events: the members the kernel lists now, when it lets us read the listing. */
  private rereadMembers(): void {
    const listed = procMembers(this.path);
    if (listed === null) return;
    const ids = new Set<bigint>();
    for (const m of listed) {
      if (m.id === this.id) continue;
      ids.add(m.id);
      this.known.set(m.id, m);
    }
    for (const id of this.known.keys()) if (!ids.has(id)) this.known.delete(id);
  }

  broadcast(bytes: Uint8Array, bloom?: Uint8Array): boolean {
    this.checkOpen();
    checkBloom(bloom);
    const payload = checkMessage(bytes);
    if (this.coalescing && this.coalescer.wants(payload.length, this.queue.length > 0)) {
      this.coalescer.add(payload, bloom, () => undefined);
      return this.clear();
    }
    // Whatever is pending goes first: messages leave in the order given.
    this.coalescer.flush();
    const sent = this.enqueue(Kind.Broadcast, payload, bloom, null, null);
    this.coalescer.sentAlone();
    return sent;
  }

  private sendBatch(f: Flushed<undefined>): void {
    if (!this.closed) this.enqueue(f.kind, f.payload, f.bloom, null, null);
  }

  send(member: bigint, bytes: Uint8Array, fds?: number[]): boolean {
    this.checkOpen();
    const withFds = checkUnicast(member, fds);
    const payload = checkMessage(bytes);
    if (member !== this.id && !this.known.has(member)) {
      throw new TransportError('EHOSTUNREACH', `member ${member} is not in the network`);
    }
    // A unicast must not overtake this sender's earlier broadcasts.
    this.coalescer.flush();
    return this.enqueue(Kind.Unicast, payload, undefined, member, withFds);
  }

  flushPending(): void {
    this.checkOpen();
    this.coalescer.flush();
  }

  setFilter(masks: Uint8Array[] | null): void {
    this.checkOpen();
    this.filter = checkMasks(masks);
    try {
      this.filterInUser = KernelNetwork.attach(this.fd, this.filter);
    } catch (err) {
      throw fromErrno(err, 'setting the socket filter');
    }
  }

  /**
   * Puts `masks` on the socket as BPF. Returns true when they are to be
   * checked in user space instead: they do not compile (too many masks), or
   * the program is too large for the socket's option memory
   * (net.core.optmem_max, 20 KiB on 6.1: ENOMEM).
   */
  private static attach(fd: number, masks: Uint8Array[] | null): boolean {
    const prog = masks === null ? null : compileBloomFilter(masks);
    if (prog === null) {
      native.detachFilter(fd);
      return masks !== null;
    }
    try {
      native.attachFilter(fd, prog);
      return false;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOMEM') throw err;
      native.detachFilter(fd);
      return true;
    }
  }

  protected release(): void {
    this.poller.close();
    for (const r of this.reasm.values()) r.abandon();
    this.queue = [];
    closeQuietly(this.fd);
  }

  private enqueue(kind: Kind, payload: Buffer, bloom: Uint8Array | undefined, dest: bigint | null,
    fds: number[] | null): boolean {
    const dgrams = fragment(kind, payload, bloom, this.nextMsgId++, this.fragPayload);
    const size = payload.length + dgrams.length * HEADER_BYTES;
    let first = 0;
    if (this.queue.length === 0 && (dgrams.length === 1 || fds !== null)) {
      // Fast path: straight to the kernel. Also the first fragment of a
      // message with fds, so that a refusal of its fds is thrown here, to
      // the sender, before any fragment is queued.
      const r = this.sendOne({ dgram: dgrams[0]!, dest, fds });
      if (r !== 'again') {
        if (dgrams.length === 1) return true;
        first = 1;
      }
    } else if (this.queuedBytes + size > MAX_QUEUED_BYTES) {
      throw new TransportError('ENOBUFS', `send queue full (${this.queuedBytes} bytes waiting): wait for 'drain'`);
    }
    for (let i = first; i < dgrams.length; i++) {
      this.queue.push({ dgram: dgrams[i]!, dest, fds: i === 0 ? fds : null });
      this.queuedBytes += dgrams[i]!.bytes;
    }
    this.flush();
    return this.clear();
  }

  /** What a send returns: false while sends wait in the queue ('drain' follows). */
  private clear(): boolean {
    if (this.queue.length === 0) return true;
    this.needDrain = true;
    return false;
  }

  /** One datagram; 'again' when the kernel had no room (lossless). */
  private sendOne(it: OutItem): 'ok' | 'again' | 'gone' {
    let r: number;
    try {
      r = native.sendmsg(this.fd, it.dgram.parts, this.family, it.dest, it.fds, MSG_DONTWAIT);
    } catch (err) {
      throw it.fds === null ? err : fdRefusal(err);
    }
    if (r === -EAGAIN) return 'again';
    if (r < 0) {
      if (it.dest !== null && this.queue.length === 0) {
        throw new TransportError('EHOSTUNREACH', `member ${it.dest} is not in the network`);
      }
      return 'gone';
    }
    return 'ok';
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.closed) {
      const it = this.queue[0]!;
      let r: 'ok' | 'again' | 'gone';
      try {
        r = this.sendOne(it);
      } catch {
        // A queued unicast whose member left meanwhile: nobody to tell.
        r = 'gone';
      }
      if (r === 'again') {
        if (!this.writeWait) {
          this.writeWait = true;
          this.startPoll();
        }
        return;
      }
      this.queue.shift();
      this.queuedBytes -= it.dgram.bytes;
    }
    if (this.needDrain && this.queue.length === 0) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private drain(): void {
    if (this.closed) return;
    try {
      if (this.backlog.length > 0) {
        const b = this.backlog;
        this.backlog = [];
        for (const it of b) this.onItem(it);
      }
      const batch = native.recvmmsgPacked(this.fd, VLEN, this.mtu, 16);
      if (batch === null) return;
      const { data, meta, extras } = batch;
      for (let i = 0; i < meta.length && !this.closed; i += C.PACKED_IPN_ROW) {
        const off = meta[i + C.PACKED_IPN_OFFSET]!;
        const len = meta[i + C.PACKED_IPN_LENGTH]!;
        const flags = meta[i + C.PACKED_IPN_FLAGS]!;
        const x = meta[i + C.PACKED_IPN_EXTRA]!;
        const from = this.memberId(meta[i + C.PACKED_IPN_ID_LOW]! >>> 0, meta[i + C.PACKED_IPN_ID_HIGH]! >>> 0);
        const creds = (flags & C.PACKED_HAS_CREDS) === 0 ? undefined
          : { pid: meta[i + C.PACKED_IPN_PID]! >>> 0, uid: meta[i + C.PACKED_IPN_UID]! >>> 0, gid: meta[i + C.PACKED_IPN_GID]! >>> 0 };
        const dropped = meta[i + C.PACKED_IPN_DROPPED]! >>> 0;
        const kind = x < 0 && (flags & C.PACKED_TRUNCATED) === 0 && this.partials === 0 && !this.filterInUser
          ? wholeMessageKind(data, off, len) : 0;
        if (kind !== 0) {
          // The common case, a whole message in one datagram with nothing
          // half-assembled anywhere: straight to the caller.
          const m: IncomingMessage = {
            from,
            bytes: data.subarray(off + HEADER_BYTES, off + len),
            fds: [],
            dropped: this.carryDropped + dropped,
            unicast: kind === Kind.Unicast,
          };
          this.carryDropped = 0;
          if (this.credentials && creds !== undefined) m.creds = creds;
          this.emit('message', m);
          continue;
        }
        const extra = x >= 0 ? extras[x] : undefined;
        const it: RecvItem = { from, bytes: data.subarray(off, off + len), fds: extra?.fds ?? [], dropped };
        if ((flags & C.PACKED_TRUNCATED) !== 0) it.truncated = true;
        if (creds !== undefined) it.creds = creds;
        if (extra?.event !== undefined) it.event = extra.event;
        if (extra?.eventsLost !== undefined) it.eventsLost = extra.eventsLost;
        this.onItem(it);
      }
    } catch (err) {
      this.emit('error', fromErrno(err, 'receiving'));
    }
  }

  /** Member ids as bigints, made once per member rather than per message. */
  private memberId(lo: number, hi: number): bigint {
    const key = hi * 2 ** 32 + lo;
    let id = this.idCache.get(key);
    if (id === undefined) {
      id = (BigInt(hi) << 32n) | BigInt(lo);
      if (this.idCache.size > 4096) this.idCache.clear();
      this.idCache.set(key, id);
    }
    return id;
  }

  private onItem(it: RecvItem): void {
    this.onItemSlow(it);
    let n = 0;
    for (const r of this.reasm.values()) if (r.inProgress) n++;
    this.partials = n;
  }

  /** Several whole broadcasts in one datagram, delivered in the sender's order. */
  private onBatch(it: RecvItem, fragCount: number): void {
    for (const fd of it.fds) closeQuietly(fd);
    const recs = fragCount === 1 ? unpackBatch(it.bytes.subarray(HEADER_BYTES)) : null;
    if (recs === null) {
      // Malformed: refused whole, and counted, never delivered in part.
      this.carryDropped += 1;
      this.refuse(it, 'malformed batch');
      return;
    }
    if (this.filterInUser && !bloomMatches(bloomOf(it.bytes), this.filter)) return;
    const dropped = this.carryDropped;
    this.carryDropped = 0;
    for (const m of batchMessages(recs, it.from, dropped, this.credentials ? it.creds : undefined)) {
      if (this.closed) return;
      this.emit('message', m);
    }
  }

  /** A datagram that breaks the protocol: dropped; the kernel-stamped sender stays a member like any other. */
  private refuse(it: RecvItem, reason: string): void {
    this.emit('rejected', { from: it.from, pid: it.creds?.pid ?? 0, reason });
  }

  private onItemSlow(it: RecvItem): void {
    this.carryDropped += it.dropped;
    if (it.event !== undefined) {
      const ev = it.event;
      if (ev.id === this.id) return;
      const mi: MemberInfo = { id: ev.id, pid: ev.pid, uid: ev.uid, gid: ev.gid };
      if (ev.type === 'join') {
        this.known.set(ev.id, mi);
        this.emit('join', mi);
      } else if (ev.type === 'leave') {
        this.known.delete(ev.id);
        this.reasm.get(ev.id)?.abandon();
        this.reasm.delete(ev.id);
        this.emit('leave', mi);
      } else if (ev.type === 'overrun') {
        // Our queue was full: the kernel lost membership events for us and
        // says how many. members() is re-read from /proc/net/ipn (ids and
        // real pids); the join/leave stream missed those changes, so the
        // owner rebuilds its view too (the bus rescans its directory).
        this.rereadMembers();
        this.emit('overrun', it.eventsLost ?? 1);
      }
      return;
    }
    const h = it.truncated === true ? null : readHeader(it.bytes);
    if (h !== null && h.kind === Kind.Batch) {
      this.onBatch(it, h.fragCount);
      return;
    }
    if (h === null || (h.kind !== Kind.Broadcast && h.kind !== Kind.Unicast)) {
      for (const fd of it.fds) closeQuietly(fd);
      this.refuse(it, it.truncated === true ? 'truncated datagram' : it.bytes.length === 0 ? 'empty datagram'
        : h === null ? 'not an ipnbus header' : `unknown kind ${h.kind}`);
      return;
    }
    let r = this.reasm.get(it.from);
    if (r === undefined) {
      r = new Reassembler(this.budget);
      this.reasm.set(it.from, r);
    }
    const a = r.push(h, it.bytes, it.fds);
    const lost = r.takeDiscarded();
    // The kernel counts datagrams; a broken message it did not report
    // (none dropped for us) still counts as one lost message.
    if (lost > 0 && this.carryDropped === 0) this.carryDropped = lost;
    if (a === null) {
      const refused = r.takeRefusal();
      if (refused !== null) this.refuse(it, refused);
      return;
    }
    if (this.filterInUser && h.kind === Kind.Broadcast && !bloomMatches(bloomOf(it.bytes), this.filter)) {
      return;
    }
    const m: IncomingMessage = { from: it.from, bytes: a.bytes, fds: a.fds, dropped: this.carryDropped,
      unicast: h.kind === Kind.Unicast };
    this.carryDropped = 0;
    if (this.credentials && it.creds !== undefined) m.creds = it.creds;
    this.emit('message', m);
  }
}
