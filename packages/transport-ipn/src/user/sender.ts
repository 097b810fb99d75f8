// The user backend's sender: numbered fan-out of broadcasts under the
// network lock, unicasts and control messages to one peer, and the
// per-receiver queues and holds that keep a full receiver from holding up
// anyone else (peer.ts, hold.ts).
//
// A broadcast is numbered and sent to every receiver with room in one native
// call (seqSendToMany) while the lock is held, so every member sees
// broadcasts in one order. A copy a receiver has no room for waits in that
// receiver's queue, and a hold in its hold file keeps it from delivering
// anything numbered later until the copy arrives. When another process holds
// the lock, the fan-out (and whatever this sender sends after it) waits and
// is retried shortly: the lock is never waited for on the event loop.
import native from '@ipnbus/native';
import { DROPPED_OFFSET, SEQ_OFFSET, Kind } from '../header.js';
import { fragment } from '../fragment.js';
import { tryLock, unlock } from './layout.js';
import { openHoldFile, setHold } from './hold.js';
import type { Peer, Waiting } from './peer.js';
import type { PeerTable } from './peer-table.js';

const { AF_UNIX, EAGAIN, MSG_DONTWAIT } = native.constants;

/** Per outgoing message state shared by its fragments. */
export interface OutMsg {
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

export function outMsg(count: number): OutMsg {
  return { skipped: null, count, started: false };
}

/** What the sender tells its owner. */
export interface SenderEvents {
  /** Nothing that made a send return false waits any more. */
  drain(): void;
  error(err: unknown, what: string): void;
  /** Our own copy of a numbered broadcast (loopback), with its number. */
  loopback(seq: number, payload: Buffer): void;
}

export interface SenderOptions {
  dir: string;
  id: bigint;
  lossless: boolean;
  peerQueueBytes: number;
  /** The lock file's fd and its counters, mapped ([0] last sequence number). */
  lockFd: number;
  counter: Buffer;
  /** Payload bytes per datagram. */
  fragPayload: number;
}

export class Sender {
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
  private lockRetry: NodeJS.Timeout | null = null;
  private lockPause = 1;
  /** runDeferred is sending the head of `deferred`: it goes out, not back in line. */
  private runningDeferred = false;
  /** A send returned false: emit 'drain' once nothing holds us back. */
  private needDrain = false;
  private closed = false;
  private nextMsgId = 1;
  private results = new Int32Array(64);

  constructor(
    private readonly table: PeerTable,
    private readonly o: SenderOptions,
    private readonly events: SenderEvents,
  ) {}

  /** The next per-sender message id. */
  takeMsgId(): number {
    return this.nextMsgId++;
  }

  /** Some peer has datagrams waiting (a new broadcast would queue behind them). */
  get behind(): boolean {
    return this.backlogged.size > 0;
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

  /** What a send returns: false while a receiver that still takes messages makes us wait. */
  clear(): boolean {
    if (!this.queued) return true;
    this.needDrain = true;
    return false;
  }

  /** p left: what waited for it is gone, which may be all that held us back. */
  forget(p: Peer): void {
    if (this.backlogged.delete(p) && this.needDrain && !this.queued) {
      this.needDrain = false;
      setImmediate(() => this.events.drain());
    }
  }

  /**
   * A numbered fan-out to the peers whose filters take `bloom` now, or,
   * while the lock is held elsewhere, in order after what waits for it.
   * `loop`: our own copies, delivered under the number it gets.
   */
  numbered(bloom: Uint8Array | undefined, parts: Buffer[], msg: OutMsg, loop: Buffer[] | null): void {
    const targets = this.table.targets(bloom);
    if (this.deferred.length === 0) {
      const seq = this.fanOut(targets, parts, msg, this.table.fdsOf(bloom));
      if (seq > 0) {
        for (const l of loop ?? []) this.events.loopback(seq, l);
        return;
      }
    }
    // The header may be the shared one: keep a copy; the payload is the caller's until 'drain'.
    const saved = [Buffer.from(parts[0]!), ...parts.slice(1)];
    const to = targets.slice();
    this.deferred.push(() => {
      const seq = this.fanOut(to, saved, msg, null);
      if (seq === 0) return false;
      for (const l of loop ?? []) this.events.loopback(seq, l);
      return true;
    });
    this.retryWhenUnlocked();
  }

  /** A unicast datagram to one peer: at once if nothing waits for it, else queued. */
  direct(p: Peer, parts: Buffer[], fds: number[] | null, msg: OutMsg): void {
    this.sendDirect(p, parts, fds, msg, false);
  }

  /**
   * A message's datagrams (`dgrams`, each [header, payload]) that p takes
   * now or never (Network.sendLossy): not while anything waits (for the
   * lock, or for p); a full socket ends it, and p discards the fragments
   * it got when our next datagram arrives. The drops p is owed ride on the
   * last datagram, so a message cut short loses none of them; the lost
   * message itself is not counted. `fds` go with the first datagram.
   *
   * Each datagram is numbered in the network's order, as a broadcast is
   * (not one with fds: the numbered send passes none), so that p delivers
   * it after everything numbered before it, from anyone: the copy of a
   * reply, numbered after the copy of its call (another member's), reaches
   * a monitor after it, where a plain unicast rides on the number of the
   * last broadcast p saw from us. When another process holds the lock at
   * that instant, it goes unnumbered (in our own order only) rather than
   * not at all.
   */
  lossy(p: Peer, dgrams: Buffer[][], fds: number[] | null): boolean {
    if (this.deferred.length > 0 || !p.alive || p.queue.length > 0) return false;
    const last = dgrams.length - 1;
    for (let i = 0; i <= last; i++) {
      const parts = dgrams[i]!;
      const owed = i === last ? p.owed : 0;
      let r: number;
      try {
        r = i === 0 && fds !== null ? this.sendPlain(p, parts, owed, fds) : this.sendNumbered(p, parts, owed);
      } catch {
        // An fd the kernel would not pass (closed meanwhile): no copy.
        return false;
      }
      if (r < 0) return false;
    }
    p.owed = 0;
    return true;
  }

  private readonly oneFd = new Int32Array(1);
  private readonly oneDrop = new Int32Array(1);
  private readonly oneResult = new Int32Array(1);

  /** One datagram to p, numbered when the lock is free (see lossy); bytes sent or -errno. */
  private sendNumbered(p: Peer, parts: Buffer[], owed: number): number {
    this.oneFd[0] = p.fd;
    this.oneDrop[0] = owed;
    const seq = native.seqSendToMany(this.o.lockFd, this.o.counter, this.oneFd, this.oneDrop, parts, SEQ_OFFSET,
      DROPPED_OFFSET, this.oneResult, 0);
    return seq > 0 ? this.oneResult[0]! : this.sendPlain(p, parts, owed, null);
  }

  private sendPlain(p: Peer, parts: Buffer[], owed: number, fds: number[] | null): number {
    parts[0]!.writeUInt32LE(owed, DROPPED_OFFSET);
    return native.sendmsg(p.fd, parts, AF_UNIX, null, fds, MSG_DONTWAIT);
  }

  /** A control message (hello, filter) to one peer, in as many fragments as it needs. */
  control(p: Peer, kind: Kind.Hello | Kind.Filter, body: Buffer): void {
    const msg = outMsg(1);
    for (const d of fragment(kind, body, undefined, this.takeMsgId(), this.o.fragPayload)) {
      this.sendDirect(p, d.parts, null, msg, true);
    }
  }

  /** Closing: nothing more is sent, and the holds our queues left are lifted. */
  close(): void {
    this.closed = true;
    if (this.lockRetry !== null) clearTimeout(this.lockRetry);
    this.lockRetry = null;
    this.deferred = [];
    try {
      // Our queues die with us: lift the holds they left. If another
      // process holds the lock, the receivers lift them when they see us
      // hang up.
      if (tryLock(this.o.lockFd)) {
        try {
          for (const p of this.backlogged) if (p.holdSeq !== 0 && p.holdMap !== null) setHold(p.holdMap, this.o.id, 0);
        } finally {
          unlock(this.o.lockFd);
        }
      }
    } catch {
      // The directory went away first.
    }
    this.backlogged.clear();
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
      this.events.error(err, 'broadcasting');
    }
    if (this.holdMoves.size === 0) this.lockPause = 1;
    this.maybeDrain();
  }

  private maybeDrain(): void {
    if (this.needDrain && !this.queued) {
      this.needDrain = false;
      this.events.drain();
    }
  }

  /**
   * One numbered fan-out: sent at once to every target with room, queued
   * for the others (lossless; lossy networks drop and count). Returns the
   * sequence number, or 0 when another process holds the lock.
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
    const keep = needHold ? 2 : this.o.lossless ? 1 : 0;
    const seq = native.seqSendToMany(this.o.lockFd, this.o.counter, fds, drops, parts, SEQ_OFFSET, DROPPED_OFFSET, res, keep);
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
          if (!this.o.lossless && list === full) {
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
      if (locked) unlock(this.o.lockFd);
    }
    msg.started = true;
    return seq;
  }

  /** Queues a numbered datagram for p; the caller holds the lock. */
  private enqueueNumbered(p: Peer, dgram: Buffer[], seq: number, msg: OutMsg): void {
    const bytes = dgram.reduce((a, b) => a + b.length, 0);
    if ((!msg.started && p.queuedBytes + bytes > this.o.peerQueueBytes) || p.id === null) {
      // Over its bound (or a peer whose hello has not come: no hold file
      // known yet): it loses this one, and is told.
      p.overrun = p.overrun || p.id !== null;
      this.dropFor(p, msg);
      return;
    }
    if (p.holdSeq === 0) {
      p.holdMap ??= openHoldFile(this.o.dir, p.id);
      if (p.holdMap === null || !setHold(p.holdMap, this.o.id, seq)) {
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
      if (!control && !this.o.lossless) {
        this.dropFor(p, msg);
        return;
      }
    } else if (!control && p.overrun && !this.o.lossless) {
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
      this.events.error(err, 'updating a hold');
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
    if (!tryLock(this.o.lockFd)) {
      // Left where it was: the receiver waits a little longer. Retried.
      this.holdMoves.add(p);
      this.retryWhenUnlocked();
      return;
    }
    this.holdMoves.delete(p);
    try {
      setHold(p.holdMap, this.o.id, next);
    } finally {
      unlock(this.o.lockFd);
    }
    p.holdSeq = next;
  }
}
