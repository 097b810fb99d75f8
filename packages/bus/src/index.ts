// ipnbus public API: the high-level bus (connect, defineInterface, proxies,
// pub/sub), the core connection, D-Bus errors and the wire types.
export * from './api/index.js';
export { connect as connectRaw, Connection, DBusError, ErrorNames, NameFlag, RequestNameReply, ReleaseNameReply } from './core/index.js';
export type { IncomingCall, CallResult } from './core/index.js';
export {
  Variant, MessageType, MessageFlags, WireError, encodeMessage, decodeMessage, marshal, unmarshal,
  parseSignature, isValidSignature, isValidObjectPath, isValidInterfaceName, isValidMemberName, isValidBusName, isValidErrorName,
} from './wire/index.js';
export type { Message, SignatureNode } from './wire/index.js';
