// What one endpoint sends: stamped with its serial and unique name, checked, and routed (broadcast, its own bus driver, or the destination's owner).
import {
  MessageFlags,
  MessageType,
  WireError,
  encodeMessage,
  isValidBusName,
  type Message,
} from '../wire/index.js';
import type { BusEndpoint } from './bus-endpoint.js';
import type { BusView } from './bus-view.js';
import type { CallMessage, Calls } from './calls.js';
import { BUS_NAME } from './constants.js';
import { DBusError, ErrorNames, errorText } from './errors.js';
import type { Logger } from './logger.js';
import type { Member } from './member.js';
import { SerialCounter, checkSerial } from './serial-counter.js';

export interface SendOptions {
  /**
   * Send with this serial (1..0xffffffff) instead of the next of our own:
   * a relay (the gateway) forwards its client's messages with the serials
   * the client chose, as dbus-daemon does. The caller keeps its serials
   * unique among its calls in flight.
   */
  serial?: number;
}

export interface EndpointSenderInit {
  /** The member carrying the endpoint: it broadcasts and transmits. */
  member: Member;
  uniqueName: string;
  view: BusView;
  /** The endpoint's org.freedesktop.DBus (messages to BUS_NAME are answered there). */
  bus: BusEndpoint;
  /** The endpoint's calls (whether a call must wait for its destination's service to start). */
  calls: Calls;
  log: Logger;
  /** Has the endpoint left the bus? */
  closed(): boolean;
  /** A message went out to the transport (ConnectionStats.sent). */
  counted(): void;
}

export class EndpointSender {
  readonly #init: EndpointSenderInit;
  readonly #serials = new SerialCounter();

  constructor(init: EndpointSenderInit) {
    this.#init = init;
  }

  /** `msg` as this endpoint sends it: its serial (the given one or our next), its sender, its fd count. */
  #stamp(msg: Partial<Message> & Pick<Message, 'type'>, fds: readonly number[] | undefined, serial: number | undefined): Message {
    // Every field named, in one order: one object shape for every message
    // sent (a spread takes the shape of whatever it copies, and the send
    // path then meets many).
    return {
      type: msg.type,
      flags: msg.flags ?? 0,
      serial: serial === undefined ? this.#serials.next() : checkSerial(serial),
      path: msg.path,
      interface: msg.interface,
      member: msg.member,
      errorName: msg.errorName,
      replySerial: msg.replySerial,
      destination: msg.destination,
      sender: this.#init.uniqueName,
      signature: msg.signature ?? '',
      body: msg.body ?? [],
      unixFds: fds !== undefined && fds.length > 0 ? fds.length : undefined,
    };
  }

  /** See Connection.send. */
  send(msg: Partial<Message> & Pick<Message, 'type'>, fds?: number[], opts?: SendOptions): number {
    const { member, view } = this.#init;
    if (this.#init.closed()) throw new DBusError(ErrorNames.Disconnected, 'the connection is closed');
    const full = this.#stamp(msg, fds, opts?.serial);
    const dest = full.destination;
    if (dest === undefined) {
      if (full.type !== MessageType.SIGNAL) {
        throw new DBusError(ErrorNames.InvalidArgs, 'only signals may be sent without a destination');
      }
      if (full.unixFds) throw new DBusError(ErrorNames.InvalidArgs, 'unix fds can only go with a unicast message');
      member.broadcast(full, encode(full));
      this.#init.counted();
      return full.serial;
    }
    if (dest === BUS_NAME) {
      member.monitors.copy(full, encode(full)); // encoded: validated as if it went on the wire
      void this.#init.bus.answer(full);
      return full.serial;
    }
    if (!isValidBusName(dest)) throw new DBusError(ErrorNames.InvalidArgs, `'${dest}' is not a valid bus name`);
    // A no-reply call is activated here, or queued behind calls waiting
    // for its service; one expecting a reply goes through call() for that
    // (a bare send() has no way to report it).
    const noReply = (full.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0;
    if (full.type === MessageType.METHOD_CALL && noReply && this.#init.calls.mustWait(dest, full.flags)) {
      this.#startThenSend(full, fds);
      return full.serial;
    }
    const target = view.resolve(dest);
    if (target === undefined) {
      const err = new DBusError(ErrorNames.ServiceUnknown, `The name ${dest} was not provided by any .service files`);
      this.#showRefusal(full, fds, err);
      throw err;
    }
    member.transmit(target, full, encode(full), fds, dest);
    this.#init.counted();
    return full.serial;
  }

  /**
   * A call the bus refused before it went out (its service could not be
   * started: Calls): stamped as send() would have, and shown to monitors
   * with the bus's error.
   */
  refused(msg: Partial<Message> & Pick<Message, 'type'>, fds: readonly number[] | undefined, serial: number | undefined, err: unknown): void {
    if (!(err instanceof DBusError) || this.#init.closed()) return;
    let full: Message;
    try {
      full = this.#stamp(msg, fds, serial);
    } catch {
      return; // a serial that is no serial: the caller's error says so, no message could carry it
    }
    this.#showRefusal(full, fds, err);
  }

  /**
   * Shows monitors a message of ours that core handles without sending it
   * (a native member's becomeMonitor(), a method here, a call to the bus
   * on dbus-daemon; a relay's client's call to our driver, Connection.askBus,
   * under the client's `serial`): stamped as send() would, with our next
   * serial unless given one. Not encoded to check it as send() does: it
   * is core's own, or came off the wire.
   */
  showOwn(msg: Partial<Message> & Pick<Message, 'type'>, serial?: number): Message {
    const full = this.#stamp(msg, undefined, serial);
    const { monitors } = this.#init.member;
    if (monitors.size > 0) monitors.copy(full);
    return full;
  }

  /** Shows monitors the bus's answer to `call` (from showOwn): its reply, or `err` as an error. */
  showBusAnswer(call: Message, err?: DBusError): void {
    const { monitors } = this.#init.member;
    if (monitors.size === 0) return;
    if (err !== undefined) {
      this.#answerFromBus(call.serial, err);
      monitors.copy(err.reply!);
      return;
    }
    monitors.copy({
      type: MessageType.METHOD_RETURN, flags: MessageFlags.NO_REPLY_EXPECTED, serial: this.#init.bus.nextSerial(),
      replySerial: call.serial, destination: this.#init.uniqueName, sender: BUS_NAME, signature: '', body: [],
    });
  }

  /**
   * A call of ours that went out will get no reply on the wire: core gave
   * up on it (its timeout, or its callee left). Shown to monitors as the
   * error dbus-daemon answers such a call with (NoReply from
   * org.freedesktop.DBus), which also becomes `err.reply`. An error that
   * came as a message already is one; a closed endpoint's calls
   * (Disconnected) have no one left to tell, as on dbus-daemon.
   */
  unanswered(callSerial: number, err: unknown): void {
    if (!(err instanceof DBusError) || err.reply !== undefined || this.#init.closed()) return;
    this.#answerFromBus(callSerial, err);
    const { monitors } = this.#init.member;
    if (monitors.size > 0) monitors.copy(err.reply!);
  }

  /** Makes `err` the error org.freedesktop.DBus sends us for call `callSerial` (err.reply), unless it has one. */
  #answerFromBus(callSerial: number, err: DBusError): void {
    err.reply ??= {
      type: MessageType.ERROR,
      flags: MessageFlags.NO_REPLY_EXPECTED,
      serial: this.#init.bus.nextSerial(),
      replySerial: callSerial,
      errorName: err.name,
      destination: this.#init.uniqueName,
      sender: BUS_NAME,
      signature: 's',
      body: [err.message],
    };
  }

  /**
   * Shows monitors a message of ours that the bus refused, and the error it
   * answers with, as dbus-daemon shows both (the call, then its error from
   * org.freedesktop.DBus). The error also becomes `err.reply`, so a relay
   * writes its client the message monitors saw.
   */
  #showRefusal(full: Message, fds: readonly number[] | undefined, err: DBusError): void {
    const expectsReply = full.type === MessageType.METHOD_CALL && (full.flags & MessageFlags.NO_REPLY_EXPECTED) === 0;
    if (expectsReply) this.#answerFromBus(full.serial, err);
    const { monitors } = this.#init.member;
    if (monitors.size === 0) return;
    try {
      monitors.copy(full, encodeMessage(full), fds);
      if (expectsReply) monitors.copy(err.reply!);
    } catch (e) {
      this.#init.log.debug({ err: errorText(e) }, 'could not show a refused message to monitors');
    }
  }

  /**
   * A call that expects no reply, to a name whose service must be started
   * first: sent once it has its name. A failure has no one to go to (the
   * caller asked for no reply), so it is logged.
   */
  #startThenSend(full: Message, fds: number[] | undefined): void {
    const { serial, sender: _sender, ...rest } = full;
    this.#init.calls
      .call(rest as CallMessage, { noReply: true, serial, ...(fds !== undefined ? { fds } : {}) })
      .catch((e: unknown) => this.#init.log.debug({ to: full.destination, err: errorText(e) }, 'no-reply call not delivered'));
  }
}

function encode(msg: Message): Buffer {
  try {
    return encodeMessage(msg);
  } catch (e) {
    if (e instanceof WireError) {
      throw new DBusError(ErrorNames.InvalidArgs, `cannot send message: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
