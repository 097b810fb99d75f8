// Public entry of the gateway: stock D-Bus clients on an ipnbus bus.
export { startGateway, type Gateway } from './gateway.js';
export type { GatewayOptions, GatewayLimits } from './options.js';
export { DEFAULT_LIMITS } from './options.js';
export { GatewayError, type GatewayErrorCode } from './errors.js';
export { parseListenAddress, type ListenAddress } from './address.js';
export { SaslServer, type SaslOptions, type SaslStep } from './sasl.js';
