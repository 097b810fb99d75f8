// The user backend's receiver: reads every mesh connection through one
// epoll set (native recvReadyPacked), checks and reassembles datagrams, and
// delivers messages and membership changes in the network's one order
// (order.ts), never past a hold a sender left for us (hold.ts).
import type { EventEmitter } from 'node:events';
import native from '@ipnbus/native';
import type { Credentials, IncomingMessage, MemberInfo, NetworkEvents } from '../network.js';
import { DROPPED_OFFSET, HEADER_BYTES, Kind, type Header, bloomOf, readHeader, readSeq, wholeMessageKind } from '../header.js';
import { OrderBuffer } from '../order.js';
import { batchMessages, countRecords } from '../batch.js';
import { Received } from '../received.js';
import { closeQuietly } from '../fds.js';
import type { Assembled } from '../reassembly.js';
import { fromErrno } from '../errors.js';
import { lowestHold, type HoldWords } from './hold.js';
import type { Peer } from './peer.js';
import type { PeerTable } from './peer-table.js';

const C = native.constants;
const VLEN = 64;
const MAX_EVENTS = 1024;
/** While a hold keeps messages back, how often to look whether it moved. */
const HOLD_RECHECK_MS = 1;

/** A member joining or leaving, in its place among the messages. */
class MembershipChange {
  constructor(readonly joined: boolean, readonly info: MemberInfo) {}
}

/** What waits in the order buffer: a message itself (no wrapper per message), or a membership change. */
type Delivery = IncomingMessage | MembershipChange;

/** What the receiver asks of its owner. */
export interface ReceiverHooks {
  /** The listening socket has connections waiting. */
  acceptPending(): void;
  /** p hung up, or is hung up on (its hello claimed an id it does not own). */
  hangUp(p: Peer): void;
}

export interface ReceiverOptions {
  id: bigint;
  credentials: boolean;
  epfd: number;
  lockFd: number;
  /** Our hold file, mapped: what senders still owe us. */
  holds: HoldWords;
  /** Largest datagram read. */
  recvMax: number;
}

export class Receiver {
  /** Statistic: datagrams rejected as malformed, by reason. */
  readonly rejected = new Map<string, number>();
  private readonly order = new OrderBuffer<Delivery>();
  /** Senders that left: their holds on us are cleared at the next look. */
  private readonly departedHolders = new Set<bigint>();
  private readonly selfCreds: Credentials;
  /** Batched reads done so far (see Peer.since). */
  private readsDone = 0;
  /** A loss to report with the next message we take (see accept). */
  private carryDropped = 0;
  private drainScheduled = false;
  private recheckTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly table: PeerTable,
    private readonly o: ReceiverOptions,
    private readonly out: EventEmitter<NetworkEvents>,
    private readonly hooks: ReceiverHooks,
  ) {
    this.selfCreds = { pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  }

  /** Reads done so far: a connection made now gets no results of them. */
  get reads(): number {
    return this.readsDone;
  }

  /** A member already there when we joined: announced first, like the kernel's snapshot. */
  announceExisting(p: Peer): void {
    p.announced = true;
    this.order.add(0, new MembershipChange(true, p.info()));
  }

  /** p is gone: what it still owed us died with it, and its leave takes its place in order. */
  left(p: Peer): void {
    if (p.id === null) return;
    this.departedHolders.add(p.id);
    if (p.announced) this.order.add(p.lastSeq, new MembershipChange(false, p.info()));
  }

  /** Our own numbered broadcast (loopback), delivered in its place. */
  loopback(seq: number, payload: Buffer): void {
    this.addOwn(seq, payload, [], false);
  }

  /** A unicast to ourselves: after everything seen so far. */
  toSelf(payload: Buffer, fds: number[]): void {
    this.addOwn(this.order.maxSeen, payload, fds, true);
  }

  scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  close(): void {
    this.closed = true;
    if (this.recheckTimer !== null) clearTimeout(this.recheckTimer);
  }

  /** Reads what is ready and delivers what is in order (the mesh poller calls this). */
  drain(): void {
    if (this.closed) return;
    let held = false;
    try {
      for (let round = 0; round < 4 && !this.closed; round++) {
        // Up to 4 passes over the sockets in one native call.
        const read = ++this.readsDone;
        const batch = native.recvReadyPacked(this.o.epfd, MAX_EVENTS, VLEN, this.o.recvMax, 4);
        if (batch === null) {
          // Nothing arrived since everything pending was read: all of it
          // is in order.
          held = this.deliver(Number.POSITIVE_INFINITY);
          break;
        }
        const safe = this.take(batch, read);
        if (batch.settled) {
          held = this.deliver(Number.POSITIVE_INFINITY);
          break;
        }
        if (safe >= 0) held = this.deliver(safe);
      }
    } catch (err) {
      this.out.emit('error', fromErrno(err, 'receiving'));
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

  /**
   * Handles one packed read; returns the highest number proven safe by a
   * complete pass over the sockets (see order.ts), or -1.
   */
  private take(batch: NonNullable<ReturnType<typeof native.recvReadyPacked>>, read: number): number {
    const { data, meta, extras } = batch;
    let safe = -1;
    // What had been read when the current pass started.
    let passStart = this.order.maxSeen;
    let complete = true;
    for (let i = 0; i < meta.length; i += C.PACKED_MESH_ROW) {
      const flags = meta[i + C.PACKED_MESH_FLAGS]!;
      if ((flags & C.PACKED_PASS_END) !== 0) {
        if (complete) safe = passStart;
        passStart = this.order.maxSeen;
        complete = true;
        continue;
      }
      if ((flags & C.PACKED_MORE) !== 0) {
        complete = false;
        continue;
      }
      if ((flags & C.PACKED_NOTIFY) !== 0) {
        this.hooks.acceptPending();
        continue;
      }
      const x = meta[i + C.PACKED_MESH_EXTRA]!;
      const fds = x >= 0 ? extras[x]!.fds : [];
      const p = this.table.byFd.get(meta[i + C.PACKED_MESH_FD]!);
      // A connection made during this read is not the one the fd meant.
      if (p === undefined || p.since >= read) {
        for (const fd of fds) closeQuietly(fd);
      } else if ((flags & C.PACKED_EOF) !== 0) {
        this.hooks.hangUp(p);
      } else {
        const off = meta[i + C.PACKED_MESH_OFFSET]!;
        const len = meta[i + C.PACKED_MESH_LENGTH]!;
        this.onDatagram(p, data.subarray(off, off + len), fds, (flags & C.PACKED_TRUNCATED) !== 0);
      }
    }
    return safe;
  }

  /** Delivers everything numbered <= horizon and below every hold; true if a hold kept some back. */
  private deliver(horizon: number): boolean {
    const hold = lowestHold(this.o.holds, this.o.lockFd, this.departedHolders);
    const upTo = Math.min(horizon, hold - 1);
    this.order.take(upTo, this.handOut);
    return !this.closed && upTo < horizon && this.order.size > 0;
  }

  /** Emits one delivery; false once closed (what is left is never delivered). */
  private readonly handOut = (d: Delivery): boolean => {
    if (this.closed) return false;
    if (!(d instanceof MembershipChange)) this.out.emit('message', d);
    else if (d.joined) this.out.emit('join', d.info);
    else this.out.emit('leave', d.info);
    return true;
  };

  private addOwn(seq: number, payload: Buffer, fds: number[], unicast: boolean): void {
    const copy = Buffer.from(payload);
    const m = new Received(this.o.id, copy, 0, copy.length, fds, 0, unicast, this.o.credentials ? this.selfCreds : undefined);
    this.order.add(seq, m);
    this.scheduleDrain();
  }

  /** A datagram that breaks the protocol: dropped, counted by reason, nobody else affected. */
  private reject(p: Peer, fds: number[], reason: string): void {
    for (const fd of fds) closeQuietly(fd);
    p.reasm.abandon();
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
    this.out.emit('rejected', { from: p.id, pid: p.creds.pid, reason });
  }

  private onDatagram(p: Peer, bytes: Buffer, fds: number[], truncated: boolean): void {
    const kind = truncated || p.id === null || p.reasm.inProgress ? 0 : wholeMessageKind(bytes, 0, bytes.length);
    if (kind !== 0) {
      // The common case, a whole message in one datagram: no reassembly.
      if (kind === Kind.Broadcast) p.lastSeq = readSeq(bytes);
      else numberedUnicast(p, readSeq(bytes));
      this.accept(p, kind === Kind.Unicast, bytes, bytes, HEADER_BYTES, fds, bytes.readUInt32LE(DROPPED_OFFSET));
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
        else numberedUnicast(p, h.seq);
        const a = this.reassemble(p, h, bytes, fds);
        if (a === null) return;
        // Lossy: partial messages the sender gave up on are already in
        // its dropped count; discarded ones here would double count.
        p.reasm.takeDiscarded();
        this.accept(p, h.kind === Kind.Unicast, bytes, a.bytes, 0, a.fds, a.dropped);
        return;
      }
      case Kind.Batch: {
        // Several whole broadcasts under one number, in the sender's order.
        p.lastSeq = h.seq;
        p.reasm.abandon();
        p.reasm.takeDiscarded();
        for (const fd of fds) closeQuietly(fd);
        if (countRecords(bytes, HEADER_BYTES, bytes.length) <= 0) return this.reject(p, [], 'malformed batch');
        if (!this.table.ownFilterPasses(bloomOf(bytes))) {
          this.carryDropped += h.dropped;
          return;
        }
        const seq = p.lastSeq;
        const order = this.order;
        batchMessages(bytes, HEADER_BYTES, bytes.length, p.id!, h.dropped + this.carryDropped,
          this.o.credentials ? p.creds : undefined, (m) => {
            order.add(seq, m);
            return true;
          });
        this.carryDropped = 0;
        return;
      }
      case Kind.Hello:
      case Kind.Filter: {
        for (const fd of fds) closeQuietly(fd);
        const a = this.reassemble(p, h, bytes, []);
        if (a === null) return;
        p.reasm.takeDiscarded();
        if (h.kind === Kind.Hello) this.onHello(p, a.bytes);
        else {
          const refused = this.table.onFilter(p, a.bytes);
          if (refused !== null) this.reject(p, [], refused);
        }
        return;
      }
      default:
        this.reject(p, fds, `unknown kind ${h.kind}`);
    }
  }

  /** Adds a fragment to p's message; the whole message once complete, else null (refusals reported). */
  private reassemble(p: Peer, h: Header, bytes: Buffer, fds: number[]): Assembled | null {
    const a = p.reasm.push(h, bytes, fds);
    if (a === null) {
      const refused = p.reasm.takeRefusal();
      if (refused !== null) this.reject(p, [], refused);
    }
    return a;
  }

  private onHello(p: Peer, body: Buffer): void {
    const v = this.table.onHello(p, body);
    if (v.refused !== null) {
      this.reject(p, [], v.refused);
      if (v.hangUp) this.hooks.hangUp(p);
      return;
    }
    if (!p.announced) {
      p.announced = true;
      this.order.add(p.lastSeq, new MembershipChange(true, p.info()));
    }
  }

  /** Queues a whole message from p (`block` from `offset` on) for ordered delivery. */
  private accept(p: Peer, unicast: boolean, last: Buffer, block: Buffer, offset: number, fds: number[], dropped: number): void {
    if (!unicast && !this.table.ownFilterPasses(bloomOf(last))) {
      // The sender had not seen our newest filter yet: not for us, but a
      // loss it reports still counts, on the next message we take.
      this.carryDropped += dropped;
      for (const fd of fds) closeQuietly(fd);
      return;
    }
    const m = new Received(p.id!, block, offset, block.length - offset, fds, dropped + this.carryDropped, unicast,
      this.o.credentials ? p.creds : undefined);
    this.carryDropped = 0;
    this.order.add(p.lastSeq, m);
  }
}

/**
 * A unicast p numbered in the network's order (a lossy copy: Sender.lossy)
 * is delivered under its number, like a broadcast; an unnumbered one (0)
 * rides on the number of the last one seen from p. Numbers from one sender
 * only grow; a lower one is not believed.
 */
function numberedUnicast(p: Peer, seq: number): void {
  if (seq > p.lastSeq) p.lastSeq = seq;
}
