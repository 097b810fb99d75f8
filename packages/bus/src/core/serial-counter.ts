// Message serials: a uint32 counter that skips 0 when it wraps (the spec forbids serial 0).
import { DBusError, ErrorNames } from './errors.js';

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

/** A caller-chosen serial: a uint32 other than 0 (the spec forbids 0). Throws DBusError InvalidArgs. */
export function checkSerial(serial: number): number {
  if (!Number.isInteger(serial) || serial < 1 || serial > 0xffffffff) {
    throw new DBusError(ErrorNames.InvalidArgs, `a message serial must be an integer in 1..4294967295, got ${String(serial)}`);
  }
  return serial;
}
