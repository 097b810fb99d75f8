// When a broadcast leaves at once and when it waits to travel in a batch:
// the coalescing policy both backends share.
import { performance } from 'node:perf_hooks';

/** Largest message that is coalesced; bigger ones always travel alone. */
export const BATCH_MSG_MAX = 16 * 1024;
/**
 * A broadcast within this long after the end of a turn that broadcast is
 * coalesced even as the first of its turn: far below any paced rate whose
 * latency matters (200/s is a 5 ms gap), far above a flood's turn-to-turn gap.
 */
const STREAMING_GAP_MS = 0.5;
/**
 * The same after a turn that sent a batch (a flood, not a paced sender: a
 * paced one sends one message a turn and never batches). Longer, because
 * a flooding sender on a busy machine is often switched out between its
 * turns for more than 0.5 ms, and each turn that begins alone costs one
 * more send to every receiver: with 16 receivers that was ~40% of a
 * flooding publisher's sends. 200/s is still a 5 ms gap.
 */
const BURST_GAP_MS = 2;

/**
 * Tracks event-loop turns for one sender. The first broadcast of an idle
 * turn leaves at once (one hop of latency, no timer); the ones after it in
 * the same turn, or from a sender that is streaming turn after turn, are
 * packed and sent by `onEndTurn` when the turn ends.
 */
export class TurnTracker {
  /** A broadcast already left in this turn. */
  private sentThisTurn = false;
  /** performance.now() when the last turn that broadcast ended. */
  private lastBusyTurn = Number.NEGATIVE_INFINITY;
  /** Broadcasts coalesced in this turn, and whether the last busy turn had any. */
  private batchedThisTurn = false;
  private lastTurnBatched = false;
  private scheduled = false;

  constructor(private readonly onEndTurn: () => void) {}

  /** Should a broadcast of `size` bytes join the pending batch? `behind`: sends are already queued. */
  coalesce(size: number, behind: boolean): boolean {
    return size <= BATCH_MSG_MAX && (this.sentThisTurn || behind ||
      performance.now() - this.lastBusyTurn < (this.lastTurnBatched ? BURST_GAP_MS : STREAMING_GAP_MS));
  }

  /** A broadcast joined the pending batch. */
  batched(): void {
    this.batchedThisTurn = true;
    this.endSoon();
  }

  /** A broadcast left directly: the rest of this turn coalesces. */
  sent(): void {
    this.sentThisTurn = true;
    this.endSoon();
  }

  /** Something waits for the end of this turn. */
  endSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.end);
  }

  private readonly end = (): void => {
    this.scheduled = false;
    this.sentThisTurn = false;
    this.lastTurnBatched = this.batchedThisTurn;
    this.batchedThisTurn = false;
    this.lastBusyTurn = performance.now();
    this.onEndTurn();
    // The gap to the next turn counts from here, after the flush: sending
    // a batch to every receiver wakes them, and on a busy machine the
    // sender is switched out in those sends for longer than the streaming
    // gap, so a gap counted from before them made nearly every turn of a
    // flood begin with a message sent alone (one more send per receiver).
    this.lastBusyTurn = performance.now();
  };
}
