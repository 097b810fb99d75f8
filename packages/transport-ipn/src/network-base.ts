// What both backends' network classes share around their own send and
// receive paths: the closed state, the coalescer's statistics, and a close
// that lets the broadcasts already accepted go out before the sockets go.
import { EventEmitter } from 'node:events';
import type { NetworkEvents } from './network.js';
import type { Coalescer } from './coalescer.js';
import { TransportError } from './errors.js';

export abstract class NetworkBase<X> extends EventEmitter<NetworkEvents> {
  protected closed = false;
  protected abstract readonly coalescer: Coalescer<X>;

  /** Statistic: batches sent and the messages they carried. */
  get batchesSent(): number {
    return this.coalescer.batchesSent;
  }

  get batchedMessages(): number {
    return this.coalescer.batchedMessages;
  }

  close(): void {
    if (this.closed) return;
    // Broadcasts already accepted go out first, as they would have without
    // coalescing; what still cannot go is discarded with the queues.
    this.coalescer.flushBeforeClose();
    this.closed = true;
    this.release();
  }

  /** Lets go of the backend's sockets, timers and queues (once, from close). */
  protected abstract release(): void;

  protected checkOpen(): void {
    if (this.closed) throw new TransportError('ERR_CLOSED', 'the network is closed');
  }
}
