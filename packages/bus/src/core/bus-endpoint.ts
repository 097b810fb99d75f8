// org.freedesktop.DBus as a peer inside each connection: answers its calls and makes its signals.
import { MessageFlags, MessageType, decodeMessage, encodeMessage, type Message } from '../wire/index.js';
import { handleBusCall, type DriverHost } from './bus-driver.js';
import { BUS_INTERFACE, BUS_NAME, BUS_PATH } from './constants.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import type { Logger } from './logger.js';
import { SerialCounter } from './serial-counter.js';

/** A signal from org.freedesktop.DBus, serial 0 (the sender of it numbers it); to one connection when `destination` is given. */
export function busDriverSignal(member: string, signature: string, body: unknown[], destination?: string): Message {
  const msg: Message = {
    type: MessageType.SIGNAL,
    flags: 0,
    serial: 0,
    path: BUS_PATH,
    interface: BUS_INTERFACE,
    member,
    sender: BUS_NAME,
    signature,
    body,
  };
  if (destination !== undefined) msg.destination = destination;
  return msg;
}

/**
 * NameOwnerChanged as every endpoint's bus driver makes it, serial 0: what
 * an endpoint's match rules are checked against before its own copy is
 * made (the serial is no part of a rule).
 */
export function nameOwnerChanged(name: string, oldName: string, newName: string): Message {
  return busDriverSignal('NameOwnerChanged', 'sss', [name, oldName, newName]);
}

/**
 * Hands a message from the bus to the connection as if it had arrived
 * (unicast or not). `everywhere`: every member makes it from its own view
 * (an owner change's signals), so monitors get theirs there, not a copy.
 */
export type Deliver = (msg: Message, fds: number[], unicast: boolean, everywhere?: boolean) => void;

/**
 * There is no bus process: each connection plays org.freedesktop.DBus for
 * itself, from its own replica of the bus (bus-driver.ts answers the
 * methods). Its messages carry the bus's own serials and sender.
 */
export class BusEndpoint {
  readonly #host: DriverHost;
  readonly #deliver: Deliver;
  readonly #log: Logger;
  readonly #serial = new SerialCounter();
  #closed = false;

  constructor(host: DriverHost, deliver: Deliver, log: Logger) {
    this.#host = host;
    this.#deliver = deliver;
    this.#log = log;
  }

  /** Answers a call our connection sent to org.freedesktop.DBus; the reply arrives as a message. */
  async answer(msg: Message): Promise<void> {
    const out = await this.respond(msg);
    if (out === undefined) return;
    if (out.reply !== undefined) {
      // Round-trip through the wire format so the caller gets what a remote
      // reply would give (Buffers for 'ay', plain objects for dicts...).
      let decoded: Message;
      try {
        decoded = decodeMessage(encodeMessage(out.reply), { copyBytes: true });
      } catch (e) {
        this.#log.error({ err: errorText(e), member: msg.member }, 'bus driver produced an unencodable reply');
        return;
      }
      this.#deliver(decoded, [], true);
    }
    if (out.becameMonitor) this.#host.monitorReplied();
  }

  /**
   * The driver's answer to `msg` as it leaves the bus (serial, sender and
   * destination set), not yet delivered: `reply` is undefined for a call
   * that asked for none. Undefined when we closed meanwhile. The caller
   * shows the reply to monitors and, with `becameMonitor`, calls
   * monitorReplied() after it (answer() does both; a relay encodes the
   * reply for its client itself, so it skips answer()'s round trip).
   */
  async respond(msg: Message): Promise<{ reply: Message | undefined; becameMonitor: boolean } | undefined> {
    let reply: Message;
    let becameMonitor = false;
    try {
      const out = await handleBusCall(this.#host, msg);
      becameMonitor = out.becameMonitor === true;
      reply = {
        type: MessageType.METHOD_RETURN,
        flags: 0,
        serial: 0,
        replySerial: msg.serial,
        signature: out.signature,
        body: out.body,
      };
    } catch (e) {
      const err = e instanceof DBusError ? e : new DBusError(ErrorNames.Failed, errorText(e), { cause: e });
      reply = {
        type: MessageType.ERROR,
        flags: 0,
        serial: 0,
        replySerial: msg.serial,
        errorName: err.name,
        signature: 's',
        body: [err.message],
      };
    }
    if (this.#closed) return undefined;
    if (msg.flags & MessageFlags.NO_REPLY_EXPECTED) return { reply: undefined, becameMonitor };
    reply.serial = this.#serial.next();
    reply.sender = BUS_NAME;
    reply.destination = this.#host.uniqueName;
    return { reply, becameMonitor };
  }

  /**
   * The signals for one owner change, in dbus-daemon's order: NameLost to
   * the old owner, NameOwnerChanged to all, NameAcquired to the new owner.
   * `undefined` means no owner.
   */
  ownerChanged(name: string, oldOwner: bigint | undefined, newOwner: bigint | undefined): void {
    if (this.#closed) return;
    const self = this.#host.endpointId;
    const oldName = oldOwner === undefined ? '' : this.#host.view.uniqueNameOf(oldOwner);
    const newName = newOwner === undefined ? '' : this.#host.view.uniqueNameOf(newOwner);
    if (oldOwner === self) this.#signal('NameLost', [name], this.#host.uniqueName, true);
    this.#signal('NameOwnerChanged', [name, oldName, newName], undefined, true);
    if (newOwner === self) this.#signal('NameAcquired', [name], this.#host.uniqueName, true);
  }

  close(): void {
    this.#closed = true;
  }

  /** The next serial of the bus's messages to this endpoint: one counter for all of them (replies, signals, a relay's Hello reply). */
  nextSerial(): number {
    return this.#serial.next();
  }

  /** A signal from org.freedesktop.DBus, made here (every member makes its own). */
  #signal(member: string, body: string[], destination?: string, everywhere = false): void {
    const msg = busDriverSignal(member, 's'.repeat(body.length), body, destination);
    msg.serial = this.#serial.next();
    this.#deliver(msg, [], destination !== undefined, everywhere);
  }

}
