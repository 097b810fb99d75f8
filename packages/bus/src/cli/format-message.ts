// One-line and JSON renderings of a bus message, shared by monitor and call.
import { MessageType, type Message } from '../wire/index.js';
import { formatBusctl } from './busctl-args.js';
import { toJson } from './json.js';

const TYPE_NAMES: Record<number, string> = {
  [MessageType.METHOD_CALL]: 'method_call',
  [MessageType.METHOD_RETURN]: 'method_return',
  [MessageType.ERROR]: 'error',
  [MessageType.SIGNAL]: 'signal',
};

/** dbus-monitor-like header line, then the body in busctl syntax when there is one. */
export function formatMessageText(msg: Message): string {
  const head = [TYPE_NAMES[msg.type] ?? `type${msg.type}`, `serial=${msg.serial}`];
  if (msg.sender) head.push(`sender=${msg.sender}`);
  if (msg.destination) head.push(`destination=${msg.destination}`);
  if (msg.replySerial !== undefined) head.push(`reply_serial=${msg.replySerial}`);
  if (msg.path) head.push(`path=${msg.path}`);
  if (msg.interface) head.push(`interface=${msg.interface}`);
  if (msg.member) head.push(`member=${msg.member}`);
  if (msg.errorName) head.push(`error_name=${msg.errorName}`);
  const body = msg.signature ? `\n  ${formatBusctl(msg.signature, msg.body)}` : '';
  return head.join(' ') + body;
}

export function formatMessageJson(msg: Message): string {
  const out: Record<string, unknown> = { type: TYPE_NAMES[msg.type] ?? msg.type, serial: msg.serial };
  for (const k of ['sender', 'destination', 'replySerial', 'path', 'interface', 'member', 'errorName'] as const) {
    if (msg[k] !== undefined) out[k] = msg[k];
  }
  out.signature = msg.signature;
  out.body = msg.body;
  return toJson(out);
}
