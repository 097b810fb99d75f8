// The brokerless bus connection: public API of packages/bus/src/core.
export { connect, type ConnectOptions } from './connect.js';
export {
  Connection,
  type IncomingCall,
  type CallMessage,
  type CallOptions,
  type SendOptions,
  type CallResult,
  type ConnectionStats,
  type PeerRejection,
} from './connection.js';
export { DBusError, ErrorNames } from './errors.js';
export { childLogger, logger } from './logger.js';
export {
  NameFlag,
  RequestNameReply,
  ReleaseNameReply,
  StartReply,
  BUS_NAME,
  BUS_PATH,
  BUS_INTERFACE,
  MONITORING_INTERFACE,
  DEFAULT_CALL_TIMEOUT_MS,
} from './constants.js';
export { parseAddress, defaultAddress, defaultBusPath, escapeAddressValue, type BusAddress } from './address.js';
export { parseMatchRule, matchesRule, quoteMatchValue, type MatchRule } from './match-rule.js';
export { messageBloom, ruleMask, filterForRules, bloomPasses } from './bloom-routing.js';
export { uniqueNameOf, memberIdOf, endpointOf, endpointId, memberOf, subOf } from './unique-name.js';
export { nextSerial, SerialCounter } from './serial-counter.js';
export { closeFds } from './fds.js';
export { errorText, type DBusErrorOptions } from './errors.js';
export { DEFAULT_LIMITS, type ConnectionLimits } from './limits.js';
export {
  ActivationErrors,
  ACTIVATION_TIMEOUT_MS,
  type ActivationOptions,
  readActivationConfig,
  writeActivationConfig,
  registerGateway,
  gatewayAddress,
} from './activation/index.js';
