// The Network contract: what every transport backend offers the bus.
// Both backends (kernel AF_IPN, user-space AF_UNIX mesh) implement it and
// pass one conformance suite, so the bus never knows which one it runs on.
import type { EventEmitter } from 'node:events';
import type { Filter } from './mask-set.js';

/** Kernel-stamped (or SO_PEERCRED-derived) identity of a sender. */
export interface Credentials {
  pid: number;
  uid: number;
  gid: number;
}

/** One whole message, reassembled if it crossed the wire in fragments. */
export interface IncomingMessage {
  /** Member id of the sender, stamped by the transport: trustworthy. */
  from: bigint;
  /** Set when the network was opened with `credentials: true`. */
  creds?: Credentials;
  /** The message's bytes (a view of `block`, made when first read). */
  readonly bytes: Buffer;
  /**
   * The same bytes as `length` bytes of `block` from `offset`: a batch's
   * messages share one block, and reading them there needs no view each.
   */
  readonly block: Buffer;
  readonly offset: number;
  readonly length: number;
  /** Unix fds passed with a unicast message (caller owns and closes them). */
  fds: number[];
  /** Messages this member lost just before this one (lossy networks). */
  dropped: number;
  /** True for a unicast addressed to us, false for a broadcast. */
  unicast: boolean;
}

export interface MemberInfo {
  id: bigint;
  pid: number;
  uid: number;
  gid: number;
}

/**
 * Bloom routing: every broadcast may carry a 16-byte bloom. A member's filter
 * is a list of 16-byte masks; a broadcast is delivered to it when, for at
 * least one mask, (bloom & mask) == mask. No filter = everything. A message
 * sent without a bloom matches every filter (bloom of all ones).
 */
export const BLOOM_BYTES = 16;

export type BackendKind = 'kernel' | 'user';

export interface OpenOptions {
  /** Who decides the backend when creating; joiners follow what exists. */
  backend?: BackendKind | 'auto';
  /** Create the network if absent (default true). */
  create?: boolean;
  /** Mode of a newly created network (default 0o700). */
  mode?: number;
  /** Lossless (default) blocks/queues senders; lossy drops and counts. */
  lossless?: boolean;
  /** Deliver own broadcasts back to self (default false). */
  loopback?: boolean;
  /** Attach sender credentials to each message (default true). */
  credentials?: boolean;
  /**
   * The broadcast filter (as in setFilter) in force from the moment of
   * joining. Without it a member receives every broadcast until its first
   * setFilter, and what queued up in between reaches it after later filtered
   * messages were never queued: a gap where a subscriber expects a stream.
   */
  filter?: Uint8Array[] | null;
  /**
   * User backend: the bytes that may wait for one receiver whose socket is
   * full (default 16 MiB). Past it that receiver's broadcasts are dropped and
   * counted (it sees the count in `dropped`), unicasts to it throw ENOBUFS,
   * and it no longer holds its senders back.
   */
  peerQueueBytes?: number;
  /**
   * Both backends: the bytes all senders' unfinished fragmented messages
   * may reserve together in this member (default 256 MiB, at least one
   * byte). A fragmented message whose announced length does not fit in
   * what is left is refused ('rejected', reason "reassembly budget"); a
   * message that fits in one datagram never counts against it.
   */
  reassemblyBytes?: number;
}

export interface NetworkEvents {
  message: [IncomingMessage];
  join: [MemberInfo];
  leave: [MemberInfo];
  /**
   * Membership events were lost (kernel backend: the receive buffer was
   * full): `members()` and the join/leave stream may have missed `lost`
   * changes; rebuild the membership from another source.
   */
  overrun: [lost: number];
  /** Emitted when queued sends have drained after a `false` return, or after `queued` was read true. */
  drain: [];
  error: [Error];
  /**
   * A datagram broke the protocol and was dropped: empty, truncated, not
   * ours, malformed, over a reassembly limit (both backends), or a hello
   * claiming an id that is not the sender's (user backend). Nobody else is
   * affected; the bus logs it and emits it as the connection's 'rejected'.
   */
  rejected: [PeerViolation];
}

export interface PeerViolation {
  /** The sender's member id, null before it has been believed. */
  from: bigint | null;
  /** Its process (kernel-stamped on AF_IPN, SO_PEERCRED on the user backend; 0 if unknown). */
  pid: number;
  reason: string;
}

export interface Network extends EventEmitter<NetworkEvents> {
  readonly backend: BackendKind;
  /** The bus address's path (directory or socket node). */
  readonly path: string;
  /** Own member id: never 0, never reused in this network's lifetime. */
  readonly id: bigint;
  /** Members currently known, self excluded. */
  members(): MemberInfo[];
  /**
   * Send to every other member. Returns false when the send had to be queued
   * because a receiver was full (lossless): wait for 'drain' before more.
   */
  broadcast(bytes: Uint8Array, bloom?: Uint8Array): boolean;
  /** Send to one member. Throws EHOSTUNREACH-coded error if it is gone. */
  send(member: bigint, bytes: Uint8Array, fds?: number[]): boolean;
  /**
   * Send to one member now or never: true when it went out. Nothing waits
   * and nobody is held back: the message is dropped (false) when the member
   * is gone or full, when anything of ours still waits to go out before it
   * (it must not overtake), or when the network refuses its fds. `fds` go
   * with it as with send() (the receiver gets its own copies; the caller
   * keeps and closes its own). A message larger than one datagram goes as
   * its fragments, each now or never: when one does not fit the rest are
   * not sent and the receiver discards the part it got (the kernel backend
   * then counts one message lost in its next `dropped`; otherwise the
   * receiver is not told of the loss). For copies the sender can do
   * without (a bus monitor's), never for the message itself.
   */
  sendLossy(member: bigint, bytes: Uint8Array, fds?: number[]): boolean;
  /**
   * True while sends wait in this member's queue (a receiver was full).
   * A backend that coalesces broadcasts (user) may learn that only when the
   * coalesced datagram goes out at the end of the event-loop turn, after
   * broadcast() returned true: this says so, and once it has said true a
   * 'drain' follows (the reader may wait for it). Optional for backends that
   * report every queued send through broadcast()/send() returning false.
   */
  readonly queued?: boolean;
  /**
   * Sends the broadcasts this turn has held back for coalescing now rather
   * than at the end of the turn: for a message whose effect the caller is
   * about to make known some other way (a name now owned, then "ready").
   */
  flushPending(): void;
  /**
   * Opaque prefilter: null = receive every broadcast. Checked at once,
   * put in force at the end of the turn or before this member's next send,
   * whichever comes first, so that many changes in one turn cost one update.
   * A MaskSet costs O(1) here (see mask-set.ts): it is read at that point.
   */
  setFilter(masks: Filter): void;
  /** Leave the network; the others see a 'leave'. Idempotent. */
  close(): void;
}
