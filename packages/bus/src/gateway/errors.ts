// Typed errors of the gateway: bad listen addresses, socket setup failures.
/** Why a gateway operation failed; `code` is stable for callers to test. */
export type GatewayErrorCode =
  | 'BadAddress'
  | 'ListenFailed'
  | 'AddressInUse'
  | 'Closed';

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
