// Coalescing, the part both backends share: broadcasts that the turn
// tracker (turn.ts) says should wait are packed into one open batch with
// one bloom (batch.ts) and handed to the backend's sender as one datagram
// when the turn ends, or earlier when something must not overtake them
// (a unicast, another bloom, a change of receivers, close).
import type { BatchBuilder } from './batch.js';
import { RECORD_PREFIX, batchBuilderFor, batchTakes } from './batch.js';
import { Kind } from './header.js';
import { TurnTracker } from './turn.js';

/** What the coalescer hands the sender: one datagram's payload. */
export interface Flushed<X> {
  /** Broadcast when the batch held one message (sent as itself), else Batch. */
  kind: Kind.Broadcast | Kind.Batch;
  payload: Buffer;
  bloom: Uint8Array | undefined;
  /** Messages it carries. */
  count: number;
  /** What the backend attached when the batch opened. */
  extra: X;
}

interface Open<X> {
  builder: BatchBuilder;
  bloom: Uint8Array | undefined;
  extra: X;
}

export class Coalescer<X = undefined> {
  /** Statistic: batches sent and the messages they carried. */
  batchesSent = 0;
  batchedMessages = 0;
  private batch: Open<X> | null = null;
  private readonly turn: TurnTracker;

  /**
   * `send` puts a flushed batch on the wire; `onEndTurn` runs after the
   * flush at the end of every turn that used the tracker; `onError` gets
   * what either throws there (no caller is left to throw to).
   */
  constructor(
    private readonly maxPayload: number,
    private readonly send: (f: Flushed<X>) => void,
    onEndTurn: (() => void) | null,
    onError: (err: unknown) => void,
  ) {
    this.turn = new TurnTracker(() => {
      try {
        this.flush();
        onEndTurn?.();
      } catch (err) {
        onError(err);
      }
    });
  }

  /** Should a broadcast of `size` bytes wait for the batch? `behind`: sends already wait. */
  wants(size: number, behind: boolean): boolean {
    return this.turn.coalesce(size, behind);
  }

  /** The open batch takes a message of `size` bytes with `bloom` (false when none is open). */
  fits(bloom: Uint8Array | undefined, size: number): boolean {
    return this.batch !== null && batchTakes(this.batch, bloom, size, this.maxPayload);
  }

  /**
   * Adds a message (copied): to the open batch when it takes it, else, after
   * sending that one, to a new batch whose `extra` is `open()`. Returns the
   * message's record (a view) and the batch's extra.
   */
  add(payload: Buffer, bloom: Uint8Array | undefined, open: () => X): { record: Buffer; extra: X } {
    if (!this.fits(bloom, payload.length)) this.flush();
    this.batch ??= { builder: batchBuilderFor(payload.length, this.maxPayload), bloom, extra: open() };
    const record = this.batch.builder.append(payload);
    this.turn.batched();
    return { record, extra: this.batch.extra };
  }

  /** A broadcast left alone, directly: the rest of this turn coalesces. */
  sentAlone(): void {
    this.turn.sent();
  }

  /** Runs onEndTurn at the end of this turn (something else waits for it). */
  endSoon(): void {
    this.turn.endSoon();
  }

  /** Sends the open batch now (one message alone goes as a plain broadcast). */
  flush(): void {
    const b = this.batch;
    if (b === null) return;
    this.batch = null;
    const n = b.builder.count;
    this.batchesSent++;
    this.batchedMessages += n;
    const payload = n === 1 ? b.builder.payload().subarray(RECORD_PREFIX) : b.builder.payload();
    this.send({ kind: n === 1 ? Kind.Broadcast : Kind.Batch, payload, bloom: b.bloom, count: n, extra: b.extra });
  }

  /** Closing: what was accepted goes out if it can; a failure no longer matters. */
  flushBeforeClose(): void {
    try {
      this.flush();
    } catch {
      // Closing anyway.
    }
  }
}
