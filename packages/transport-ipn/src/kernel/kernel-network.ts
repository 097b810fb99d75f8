// The kernel backend: one AF_IPN socket through the addon. The kernel gives
// total order, member ids, credentials, membership events, loss accounting
// and backpressure; this class adds fragmentation, the bloom socket filter,
// a bounded send queue for MSG_DONTWAIT's EAGAIN, and coalescing (coalescer.ts):
// a burst of broadcasts with one bloom travels as one Batch datagram, so
// the kernel clones, queues and wakes each receiver once for all of them.
// Receiving is kernel-receiver.ts.
import { chmodSync, unlinkSync } from 'node:fs';
import native from '@ipnbus/native';
import type { BackendKind, MemberInfo, Network } from '../network.js';
import { NetworkBase } from '../network-base.js';
import { TransportError, fromErrno } from '../errors.js';
import { HEADER_BYTES, Kind } from '../header.js';
import { checkBloom, checkMasks } from '../bloom.js';
import { checkFilter, MaskSet, type Filter } from '../mask-set.js';
import { compileBloomFilter } from '../bpf.js';
import { checkMessage, checkUnicast, fragment, type Datagram } from '../fragment.js';
import { Coalescer, type Flushed } from '../coalescer.js';
import { closeQuietly, setBuffer } from '../fds.js';
import { KernelReceiver } from './kernel-receiver.js';

const C = native.constants;
const { EAGAIN, MSG_DONTWAIT, SOL_IPN } = C;
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
  private readonly receiver: KernelReceiver;
  private nextMsgId = 1;
  private queue: OutItem[] = [];
  private queuedBytes = 0;
  private needDrain = false;
  private writeWait = false;
  private readonly coalescing: boolean;
  protected readonly coalescer: Coalescer;
  /** The filter set this turn, not yet on the socket (undefined: none). */
  private pendingFilter: Filter | undefined = undefined;

  private constructor(path: string, fd: number, family: number, opts: KernelOpenOptions) {
    super();
    this.path = path;
    this.fd = fd;
    this.family = family;
    this.id = native.getsockoptU64(fd, SOL_IPN, C.IPN_SO_MEMBER_ID);
    const ni = native.getsockoptBuffer(fd, SOL_IPN, C.IPN_SO_NETINFO, 24);
    this.mtu = ni.length >= 12 ? ni.readUInt32LE(8) : C.IPN_MTU_DEFAULT;
    // The kernel counts lost datagrams, not the messages a lost batch held:
    // on a lossy network every broadcast travels alone so `dropped` stays exact.
    this.coalescing = ni.length >= 8 && (ni.readUInt32LE(4) & C.IPN_FLAG_LOSSLESS) !== 0;
    this.fragPayload = this.mtu - HEADER_BYTES;
    this.coalescer = new Coalescer(this.fragPayload, (f) => this.sendBatch(f), () => this.applyFilter(),
      (err) => this.emit('error', fromErrno(err, 'broadcasting')));
    this.poller = new native.Poller();
    this.receiver = new KernelReceiver({ fd, id: this.id, mtu: this.mtu, credentials: opts.credentials, path,
      ...(opts.reassemblyBytes !== undefined ? { reassemblyBytes: opts.reassemblyBytes } : {}) }, this);
    this.receiver.filterInUser = opts.filter !== null && compileBloomFilter(opts.filter) === null ? opts.filter : null;
    this.receiver.readSnapshot();
    setImmediate(() => this.receiver.drain());
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
      if ((events & (C.POLL_READABLE | C.POLL_DISCONNECT)) !== 0) this.receiver.drain();
    });
  }

  members(): MemberInfo[] {
    return [...this.receiver.known.values()];
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
    if (member !== this.id && !this.receiver.known.has(member)) {
      throw new TransportError('EHOSTUNREACH', `member ${member} is not in the network`);
    }
    // A unicast must not overtake this sender's earlier broadcasts.
    this.coalescer.flush();
    return this.enqueue(Kind.Unicast, payload, undefined, member, withFds);
  }

  sendLossy(member: bigint, bytes: Uint8Array, fds?: number[]): boolean {
    this.checkOpen();
    const withFds = checkUnicast(member, fds);
    const payload = checkMessage(bytes);
    if (member !== this.id && !this.receiver.known.has(member)) return false;
    this.coalescer.flush();
    // As before any datagram of ours (see applyFilter).
    this.applyFilter();
    // What waits in our queue goes first; a copy never waits behind it.
    if (this.queue.length > 0) return false;
    const dgrams = fragment(Kind.Unicast, payload, undefined, this.nextMsgId++, this.fragPayload);
    try {
      // A fragment that does not fit ends it: the receiver drops the part
      // it got when our next datagram arrives, and nothing of ours waits.
      return dgrams.every((dgram, i) => this.sendOne({ dgram, dest: member, fds: i === 0 ? withFds : null }) === 'ok');
    } catch {
      // The member left just now, or the module refused the fds.
      return false;
    }
  }

  flushPending(): void {
    this.checkOpen();
    this.coalescer.flush();
    this.applyFilter();
  }

  setFilter(masks: Filter): void {
    this.checkOpen();
    // Checked now (a MaskSet's masks as they came in), compiled and attached
    // once at the end of the turn (or before our next send, whichever comes
    // first): a client adding 10,000 rules one by one used to compile and
    // attach the whole filter at every rule, O(n^2): 140 s on the host, past
    // 180 s under TCG.
    checkFilter(masks);
    this.pendingFilter = masks;
    this.coalescer.endSoon();
  }

  /**
   * Puts the filter set this turn on the socket. Runs before any datagram
   * of ours leaves, so that whatever a peer sends in answer to it finds the
   * new filter in place.
   */
  private applyFilter(): void {
    if (this.pendingFilter === undefined || this.closed) return;
    const f = this.pendingFilter;
    const checked = f instanceof MaskSet ? f.masks().slice() : checkMasks(f);
    this.pendingFilter = undefined;
    try {
      this.receiver.filterInUser = KernelNetwork.attach(this.fd, checked) ? checked : null;
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
  private static attach(fd: number, masks: readonly Uint8Array[] | null): boolean {
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
    this.receiver.close();
    this.queue = [];
    closeQuietly(this.fd);
  }

  private enqueue(kind: Kind, payload: Buffer, bloom: Uint8Array | undefined, dest: bigint | null,
    fds: number[] | null): boolean {
    this.applyFilter();
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
}
