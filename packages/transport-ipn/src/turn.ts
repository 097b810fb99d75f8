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
  private scheduled = false;

  constructor(private readonly onEndTurn: () => void) {}

  /** Should a broadcast of `size` bytes join the pending batch? `behind`: sends are already queued. */
  coalesce(size: number, behind: boolean): boolean {
    return size <= BATCH_MSG_MAX &&
      (this.sentThisTurn || behind || performance.now() - this.lastBusyTurn < STREAMING_GAP_MS);
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
    this.lastBusyTurn = performance.now();
    this.onEndTurn();
  };
}
