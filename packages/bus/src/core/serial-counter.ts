// Message serials: a uint32 counter that skips 0 when it wraps (the spec forbids serial 0).

/** The serial after `last`: 1..0xffffffff, then 1 again. */
export function nextSerial(last: number): number {
  return last >= 0xffffffff ? 1 : last + 1;
}

/** One sender's serials (a connection's own, the bus driver's, name records'). */
export class SerialCounter {
  #last = 0;

  next(): number {
    this.#last = nextSerial(this.#last);
    return this.#last;
  }
}
