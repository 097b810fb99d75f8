// One received message as both backends hand it to the network's
// 'message' listeners: a range of the block it arrived in.
//
// A subscriber receives every message of a fan-out, so what it allocates
// per message is most of its cost (the GC was over half of a warm
// subscriber's busy time). A batch's records share the datagram's block:
// a consumer that reads `block` at `offset` (the bus's decoder does) needs
// no Buffer view of each record; `bytes` makes that view only when asked.
import type { Credentials, IncomingMessage } from './network.js';

/** The fds of a message that carries none: shared, frozen so nobody can add to it. */
export const NO_FDS = Object.freeze([]) as unknown as number[];

export class Received implements IncomingMessage {
  creds?: Credentials;
  private view: Buffer | undefined = undefined;

  constructor(
    readonly from: bigint,
    readonly block: Buffer,
    readonly offset: number,
    readonly length: number,
    public fds: number[],
    public dropped: number,
    readonly unicast: boolean,
    creds: Credentials | undefined,
  ) {
    // Always set, undefined or not: every message has the same shape.
    this.creds = creds;
  }

  get bytes(): Buffer {
    if (this.view === undefined) {
      this.view = this.offset === 0 && this.length === this.block.length
        ? this.block : this.block.subarray(this.offset, this.offset + this.length);
    }
    return this.view;
  }
}
