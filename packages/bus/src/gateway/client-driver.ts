// The part of org.freedesktop.DBus the gateway answers itself for a stock client: Hello (first, once) and BecomeMonitor.
//
// Core's driver answers everything else from its replicated view, AddMatch
// included (its reply waits until every member holds the rule, as
// dbus-daemon's does); what is answered here is about the client's socket
// only, which core does not know.
import { DBusError, ErrorNames, MONITORING_INTERFACE } from '../core/index.js';
import { MessageFlags, MessageType, type Message } from '../wire/index.js';
import { BUS_NAME, driverSignal, errorReply, methodReturn } from './driver-messages.js';


/** What answering a registered client's driver call needs of it. */
export interface DriverCaller {
  /** Its unique name (it has said Hello). */
  readonly uniqueName: string;
  /** Writes a reply or a signal to it. */
  deliver(msg: Message): void;
  /** Makes it a monitor of `rules` at the gateway; throws (DBusError MatchRuleInvalid for a bad rule). */
  addMonitor(rules: string[]): void;
  /** Its reply is written: from now on it only receives (core takes its unique name away: Connection.monitorReplied). */
  becameMonitor(rules: string[]): void;
}

/** Is `msg` the Hello call, the only one a client may make before it is registered? */
export function isHello(msg: Message): boolean {
  return (
    msg.type === MessageType.METHOD_CALL &&
    msg.destination === BUS_NAME &&
    msg.member === 'Hello' &&
    (msg.interface === undefined || msg.interface === BUS_NAME)
  );
}

/** The refusal of anything but one Hello before registration (dbus-daemon rule). */
export function notRegisteredError(msg: Message): Message {
  return errorReply(msg, ErrorNames.AccessDenied, 'Client tried to send a message other than Hello without being registered');
}

/** Hello's reply (the unique name) and the NameAcquired for it that follows. */
export function helloReplies(hello: Message, uniqueName: string): Message[] {
  return [
    methodReturn({ ...hello, sender: uniqueName }, 's', [uniqueName]),
    driverSignal(uniqueName, 'NameAcquired', 's', [uniqueName]),
  ];
}

/**
 * Is a registered client's message to org.freedesktop.DBus answered here
 * (Hello, BecomeMonitor; anything but a call is dropped), not by core's
 * driver?
 */
export function answeredHere(msg: Message): boolean {
  if (msg.type !== MessageType.METHOD_CALL) return true;
  const iface = msg.interface;
  return ((iface === undefined || iface === BUS_NAME) && msg.member === 'Hello') ||
    ((iface === MONITORING_INTERFACE || iface === undefined) && msg.member === 'BecomeMonitor');
}

/**
 * A message from a registered client to org.freedesktop.DBus: true when
 * it is answered here (or dropped: only calls are answered), false when it
 * is for core's driver (answeredHere).
 */
export function answerDriverCall(msg: Message, caller: DriverCaller): boolean {
  if (!answeredHere(msg)) return false;
  if (msg.type !== MessageType.METHOD_CALL) return true;
  if (msg.member === 'Hello') {
    replyDriver(msg, caller, () => {
      throw new DBusError(ErrorNames.Failed, 'Already handled an Hello message');
    });
    return true;
  }
  becomeMonitor(msg, caller);
  return true;
}

function replyDriver(msg: Message, caller: DriverCaller, fn: () => void): void {
  try {
    fn();
    if ((msg.flags & MessageFlags.NO_REPLY_EXPECTED) === 0) caller.deliver(methodReturn(msg, '', []));
  } catch (err) {
    if ((msg.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0) return;
    if (err instanceof DBusError) caller.deliver(errorReply(msg, err.name, err.message));
    else caller.deliver(errorReply(msg, ErrorNames.Failed, String(err)));
  }
}

function becomeMonitor(msg: Message, caller: DriverCaller): void {
  if (msg.signature !== 'asu') {
    return caller.deliver(errorReply(msg, ErrorNames.InvalidArgs, 'BecomeMonitor takes (as, u)'));
  }
  const [rules, flags] = msg.body as [string[], number];
  if (flags !== 0) {
    return caller.deliver(errorReply(msg, ErrorNames.InvalidArgs, 'BecomeMonitor flags must be 0'));
  }
  try {
    caller.addMonitor(rules);
  } catch (err) {
    const name = err instanceof DBusError ? err.name : ErrorNames.Failed;
    return caller.deliver(errorReply(msg, name, err instanceof Error ? err.message : String(err)));
  }
  caller.deliver(methodReturn(msg, '', []));
  // Then its unique name goes (NameLost, NameOwnerChanged), as on dbus-daemon: core makes those.
  caller.becameMonitor(rules);
}
