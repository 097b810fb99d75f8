// The kernel backend's receiver: reads the AF_IPN socket's queue packed
// (native recvmmsgPacked), keeps the membership the kernel's notices
// describe, reassembles fragmented messages and unpacks batches, and
// delivers in the kernel's order. A whole message in one datagram (the
// common case) goes straight to the caller.
import type { EventEmitter } from 'node:events';
import native, { type RecvItem } from '@ipnbus/native';
import type { MemberInfo, NetworkEvents } from '../network.js';
import { fromErrno } from '../errors.js';
import { HEADER_BYTES, Kind, bloomOf, readHeader, wholeMessageKind } from '../header.js';
import { bloomMatches } from '../bloom.js';
import { Reassembler, ReassemblyBudget } from '../reassembly.js';
import { batchMessages, countRecords } from '../batch.js';
import { NO_FDS, Received } from '../received.js';
import { closeQuietly } from '../fds.js';
import { procMembers } from './proc-members.js';

const C = native.constants;
const VLEN = 64;

export interface KernelReceiverOptions {
  fd: number;
  id: bigint;
  mtu: number;
  credentials: boolean;
  /** The network's path (its line in /proc/net/ipn). */
  path: string;
  /** Bound of all senders' unfinished fragmented messages (default REASSEMBLY_BUDGET_BYTES). */
  reassemblyBytes?: number;
}

export class KernelReceiver {
  /** Members the kernel said are in (self excluded). */
  readonly known = new Map<bigint, MemberInfo>();
  /** Our filter when it could not be compiled to BPF and is checked here; null: the kernel filters. */
  filterInUser: Uint8Array[] | null = null;
  private readonly reasm = new Map<bigint, Reassembler>();
  /** What all senders' unfinished fragmented messages may reserve together. */
  private readonly budget: ReassemblyBudget;
  private readonly idCache = new Map<number, bigint>();
  /** Senders with a fragmented message half-way (slow path while > 0). */
  private partials = 0;
  private carryDropped = 0;
  /** Read at open, delivered on the first drain (keeps the kernel's order). */
  private backlog: RecvItem[] = [];
  private closed = false;

  constructor(private readonly o: KernelReceiverOptions, private readonly out: EventEmitter<NetworkEvents>) {
    this.budget = new ReassemblyBudget(o.reassemblyBytes);
  }

  /**
   * Reads the membership snapshot the kernel queued at join, so members()
   * is complete when open() resolves (like the user backend); it is
   * replayed, with anything else already queued, as events on the first
   * drain, once the caller has had a chance to listen.
   */
  readSnapshot(): void {
    for (let round = 0; round < 64; round++) {
      const items = native.recvmmsg(this.o.fd, VLEN, this.o.mtu);
      for (const it of items) {
        this.backlog.push(it);
        const ev = it.event;
        if (ev === undefined || ev.id === this.o.id) continue;
        if (ev.type === 'join') this.known.set(ev.id, { id: ev.id, pid: ev.pid, uid: ev.uid, gid: ev.gid });
        else if (ev.type === 'leave') this.known.delete(ev.id);
      }
      if (items.length < VLEN) break;
    }
  }

  close(): void {
    this.closed = true;
    for (const r of this.reasm.values()) r.abandon();
  }

  /** Reads what is queued and delivers it (the poller calls this). */
  drain(): void {
    if (this.closed) return;
    try {
      if (this.backlog.length > 0) {
        const b = this.backlog;
        this.backlog = [];
        for (const it of b) this.onItem(it);
      }
      const batch = native.recvmmsgPacked(this.o.fd, VLEN, this.o.mtu, 16);
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
        const kind = x < 0 && (flags & C.PACKED_TRUNCATED) === 0 && this.partials === 0 && this.filterInUser === null
          ? wholeMessageKind(data, off, len) : 0;
        if (kind !== 0) {
          // The common case, a whole message in one datagram with nothing
          // half-assembled anywhere: straight to the caller.
          const m = new Received(from, data, off + HEADER_BYTES, len - HEADER_BYTES, NO_FDS, this.carryDropped + dropped,
            kind === Kind.Unicast, this.o.credentials ? creds : undefined);
          this.carryDropped = 0;
          this.out.emit('message', m);
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
      this.out.emit('error', fromErrno(err, 'receiving'));
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
    const bytes = it.bytes;
    if (fragCount !== 1 || countRecords(bytes, HEADER_BYTES, bytes.length) <= 0) {
      // Malformed: refused whole, and counted, never delivered in part.
      this.carryDropped += 1;
      this.refuse(it, 'malformed batch');
      return;
    }
    if (this.filterInUser !== null && !bloomMatches(bloomOf(it.bytes), this.filterInUser)) return;
    const dropped = this.carryDropped;
    this.carryDropped = 0;
    batchMessages(bytes, HEADER_BYTES, bytes.length, it.from, dropped, this.o.credentials ? it.creds : undefined, (m) => {
      if (this.closed) return false;
      this.out.emit('message', m);
      return true;
    });
  }

  /** A datagram that breaks the protocol: dropped; the kernel-stamped sender stays a member like any other. */
  private refuse(it: RecvItem, reason: string): void {
    this.out.emit('rejected', { from: it.from, pid: it.creds?.pid ?? 0, reason });
  }

  /** After lost events: the members the kernel lists now, when it lets us read the listing. */
  private rereadMembers(): void {
    const listed = procMembers(this.o.path);
    if (listed === null) return;
    const ids = new Set<bigint>();
    for (const m of listed) {
      if (m.id === this.o.id) continue;
      ids.add(m.id);
      this.known.set(m.id, m);
    }
    for (const id of this.known.keys()) if (!ids.has(id)) this.known.delete(id);
  }

  private onItemSlow(it: RecvItem): void {
    this.carryDropped += it.dropped;
    if (it.event !== undefined) {
      const ev = it.event;
      if (ev.id === this.o.id) return;
      const mi: MemberInfo = { id: ev.id, pid: ev.pid, uid: ev.uid, gid: ev.gid };
      if (ev.type === 'join') {
        this.known.set(ev.id, mi);
        this.out.emit('join', mi);
      } else if (ev.type === 'leave') {
        this.known.delete(ev.id);
        this.reasm.get(ev.id)?.abandon();
        this.reasm.delete(ev.id);
        this.out.emit('leave', mi);
      } else if (ev.type === 'overrun') {
        // Our queue was full: the kernel lost membership events for us and
        // says how many. members() is re-read from /proc/net/ipn (ids and
        // real pids); the join/leave stream missed those changes, so the
        // owner rebuilds its view too (the bus rescans its directory).
        this.rereadMembers();
        this.out.emit('overrun', it.eventsLost ?? 1);
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
    if (this.filterInUser !== null && h.kind === Kind.Broadcast && !bloomMatches(bloomOf(it.bytes), this.filterInUser)) {
      return;
    }
    const m = new Received(it.from, a.bytes, 0, a.bytes.length, a.fds, this.carryDropped, h.kind === Kind.Unicast,
      this.o.credentials ? it.creds : undefined);
    this.carryDropped = 0;
    this.out.emit('message', m);
  }
}
