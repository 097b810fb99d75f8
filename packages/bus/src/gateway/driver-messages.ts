// Messages the gateway writes to a client itself, as the bus driver would: error replies, returns, NameAcquired/NameLost.
import { busDriverSignal } from '../core/bus-endpoint.js';
import { BUS_NAME } from '../core/constants.js';
import { MessageType, type Message } from '../wire/index.js';

export { BUS_NAME };

/** An ERROR reply to `call`, as if from `sender` (the bus driver by default). */
export function errorReply(call: Message, errorName: string, text: string, sender = BUS_NAME): Message {
  const m: Message = {
    type: MessageType.ERROR,
    flags: 0,
    serial: 0,
    errorName,
    replySerial: call.serial,
    sender,
    signature: 's',
    body: [text],
  };
  if (call.sender !== undefined) m.destination = call.sender;
  return m;
}

/** A METHOD_RETURN to `call` from the bus driver. */
export function methodReturn(call: Message, signature: string, body: unknown[]): Message {
  const m: Message = {
    type: MessageType.METHOD_RETURN,
    flags: 0,
    serial: 0,
    replySerial: call.serial,
    sender: BUS_NAME,
    signature,
    body,
  };
  if (call.sender !== undefined) m.destination = call.sender;
  return m;
}

/** A signal from the bus driver to one connection (NameAcquired, NameLost). */
export function driverSignal(destination: string, member: string, signature: string, body: unknown[]): Message {
  return busDriverSignal(member, signature, body, destination);
}
