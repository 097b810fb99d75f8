// One mesh connection as the user backend sees it: who is at the other end,
// what it wants (its filter masks), how far its broadcasts have come, and
// the datagrams waiting for it when its socket is full.
//
// Every peer has its own queue: a full or stopped receiver makes only its
// own datagrams wait, never another member's. The queue is bounded
// (peerQueueBytes); what does not fit is dropped and counted for that peer
// (`owed`), and the count rides in the `dropped` field of the next datagram
// it gets from us.
import native from '@ipnbus/native';
import type { Credentials, MemberInfo } from '../network.js';
import { Reassembler, type ReassemblyBudget } from '../reassembly.js';
import { bloomMatches } from '../bloom.js';
import type { HoldWords } from './hold.js';

/** A datagram waiting for one peer. */
export interface Waiting {
  /** Header (written in place: `dropped` at send time) and payload. */
  parts: Buffer[];
  bytes: number;
  fds: number[] | null;
  /** Network sequence number (numbered broadcasts), else 0. */
  seq: number;
  /** Hello and filter updates: never dropped, no `dropped` field. */
  control: boolean;
  /** Messages it carries (a batch: several): what a drop costs in `owed`. */
  count: number;
  /** Messages dropped for this peer after this one was queued: owed once it is sent. */
  dropsAfter: number;
}

/** Blooms whose verdict a peer remembers; past it the memory starts over. */
const VERDICTS_MAX = 4096;

export class Peer {
  /** null until its Hello arrives (peers that connected to us). */
  id: bigint | null;
  #masks: Uint8Array[] | null = null;
  /**
   * Whether a bloom passes its filter, by bloom: senders repeat a handful of
   * blooms, and a member with thousands of rules would otherwise cost every
   * broadcast a pass over all its masks.
   */
  readonly #verdicts = new Map<string, boolean>();
  /** Messages dropped for it and not yet reported to it. */
  owed = 0;
  /** Sequence number of the last broadcast datagram read from it. */
  lastSeq = 0;
  readonly reasm: Reassembler;
  alive = true;
  announced = false;
  /** Datagrams waiting for room in its socket, in order. */
  readonly queue: Waiting[] = [];
  queuedBytes = 0;
  /**
   * Its queue reached peerQueueBytes: we drop for it (counted) instead of
   * queueing, and it no longer holds our sender back (no 'false' from
   * broadcast, no 'queued'), until its queue has drained.
   */
  overrun = false;
  /** The number our hold in its hold file carries (0: none set). */
  holdSeq = 0;
  /** Its hold file, mapped (hold.ts); opened the first time we need it. */
  holdMap: HoldWords | null = null;
  /** Watches for room while its queue is not empty. */
  private writable: InstanceType<typeof native.Poller> | null = null;

  constructor(
    readonly fd: number,
    id: bigint | null,
    readonly creds: Credentials,
    /**
     * The read (Receiver.drain) during which this connection was made.
     * A read reports sockets by fd number, and a number freed while its
     * results are handled can be handed to a connection accepted in
     * between: its results belong to peers from earlier reads only.
     */
    readonly since: number,
    /** The network's reassembly budget, shared by all its peers. */
    budget: ReassemblyBudget,
  ) {
    this.id = id;
    this.reasm = new Reassembler(budget);
  }

  get masks(): Uint8Array[] | null {
    return this.#masks;
  }

  set masks(masks: Uint8Array[] | null) {
    this.#masks = masks;
    this.#verdicts.clear();
  }

  /** Does a broadcast with this bloom pass its filter? */
  wants(bloom: Uint8Array): boolean {
    const masks = this.#masks;
    if (masks === null) return true;
    if (masks.length <= 8) return bloomMatches(bloom, masks);
    const key = Buffer.from(bloom.buffer, bloom.byteOffset, bloom.byteLength).toString('latin1');
    let v = this.#verdicts.get(key);
    if (v === undefined) {
      v = bloomMatches(bloom, masks);
      if (this.#verdicts.size >= VERDICTS_MAX) this.#verdicts.clear();
      this.#verdicts.set(key, v);
    }
    return v;
  }

  info(): MemberInfo {
    return { id: this.id!, pid: this.creds.pid, uid: this.creds.uid, gid: this.creds.gid };
  }

  /** Calls `onRoom` once when its socket can take more. */
  watchWritable(onRoom: () => void): void {
    this.writable ??= new native.Poller();
    this.writable.start(this.fd, false, true, () => {
      this.writable?.stop();
      onRoom();
    });
  }

  /** Stops watching and forgets what waits (it left, or we close). */
  discard(): void {
    this.writable?.close();
    this.writable = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }
}
