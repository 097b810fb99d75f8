// Transport errors as D-Bus errors: the one place core maps the transport's codes to error names.
import { DBusError, ErrorNames, errorText } from './errors.js';

/**
 * Every code the transport documents (packages/transport-ipn/src/errors.ts)
 * or passes up from the addon and the file system on the paths core uses.
 * A code missing here still maps (to Failed); listing it makes the table
 * below say what it means, and the compiler keeps the table complete.
 */
export type TransportErrorCode =
  | 'ERR_CLOSED'
  | 'ERR_INVALID_ARG'
  | 'ERR_BAD_NETWORK'
  | 'ERR_NO_KERNEL'
  | 'ERR_TOO_LARGE'
  | 'EACCES'
  | 'EPERM'
  | 'ENOENT'
  | 'ENOTDIR'
  | 'ECONNREFUSED'
  | 'EHOSTUNREACH'
  | 'EPIPE'
  | 'ECONNRESET'
  | 'ENOBUFS'
  | 'EMSGSIZE'
  | 'E2BIG'
  | 'EBADF'
  | 'EINVAL'
  | 'EIO'
  | 'ETIMEDOUT'
  | 'EOPNOTSUPP'
  | 'ETOOMANYREFS';

/** What the caller was doing: the same code means different things when joining and when sending. */
export type TransportOperation = 'connect' | 'send';

type ErrorName = (typeof ErrorNames)[keyof typeof ErrorNames];

/**
 * The D-Bus error name per code and operation. 'send' covers unicasts and
 * broadcasts: a peer that is gone (EHOSTUNREACH, ECONNREFUSED, EPIPE,
 * ECONNRESET) means the destination left, which D-Bus reports as NoReply.
 * On 'connect', a missing or refusing network is a bus nobody provides.
 */
const NAMES: Record<TransportErrorCode, Record<TransportOperation, ErrorName>> = {
  ERR_CLOSED: { connect: ErrorNames.Disconnected, send: ErrorNames.Disconnected },
  ERR_INVALID_ARG: { connect: ErrorNames.InvalidArgs, send: ErrorNames.InvalidArgs },
  ERR_BAD_NETWORK: { connect: ErrorNames.Failed, send: ErrorNames.Failed },
  ERR_NO_KERNEL: { connect: ErrorNames.NotSupported, send: ErrorNames.NotSupported },
  ERR_TOO_LARGE: { connect: ErrorNames.LimitsExceeded, send: ErrorNames.LimitsExceeded },
  EACCES: { connect: ErrorNames.AccessDenied, send: ErrorNames.AccessDenied },
  EPERM: { connect: ErrorNames.AccessDenied, send: ErrorNames.AccessDenied },
  ENOENT: { connect: ErrorNames.ServiceUnknown, send: ErrorNames.Failed },
  ENOTDIR: { connect: ErrorNames.Failed, send: ErrorNames.Failed },
  ECONNREFUSED: { connect: ErrorNames.ServiceUnknown, send: ErrorNames.NoReply },
  EHOSTUNREACH: { connect: ErrorNames.Failed, send: ErrorNames.NoReply },
  EPIPE: { connect: ErrorNames.Failed, send: ErrorNames.NoReply },
  ECONNRESET: { connect: ErrorNames.Failed, send: ErrorNames.NoReply },
  ENOBUFS: { connect: ErrorNames.LimitsExceeded, send: ErrorNames.LimitsExceeded },
  EMSGSIZE: { connect: ErrorNames.LimitsExceeded, send: ErrorNames.LimitsExceeded },
  E2BIG: { connect: ErrorNames.LimitsExceeded, send: ErrorNames.LimitsExceeded },
  EBADF: { connect: ErrorNames.Disconnected, send: ErrorNames.Disconnected },
  EINVAL: { connect: ErrorNames.InvalidArgs, send: ErrorNames.InvalidArgs },
  EIO: { connect: ErrorNames.Failed, send: ErrorNames.Failed },
  ETIMEDOUT: { connect: ErrorNames.Timeout, send: ErrorNames.Timeout },
  // The kernel backend refuses fds that can carry fds (AF_UNIX sockets,
  // io_uring) and fds past the sender's RLIMIT_NOFILE in flight.
  EOPNOTSUPP: { connect: ErrorNames.NotSupported, send: ErrorNames.NotSupported },
  ETOOMANYREFS: { connect: ErrorNames.LimitsExceeded, send: ErrorNames.LimitsExceeded },
};

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isKnown(code: string | undefined): code is TransportErrorCode {
  return code !== undefined && Object.hasOwn(NAMES, code);
}

/** The D-Bus error name for a transport error raised during `op`. */
export function transportErrorName(e: unknown, op: TransportOperation): ErrorName {
  const code = codeOf(e);
  return isKnown(code) ? NAMES[code][op] : ErrorNames.Failed;
}

/** Does this send error mean the destination has left the bus? */
export function peerGone(e: unknown): boolean {
  return transportErrorName(e, 'send') === ErrorNames.NoReply;
}

/** `e` (any error from the transport) as the core's one error type, with `e` as its cause. */
export function fromTransport(e: unknown, op: TransportOperation, text: string): DBusError {
  if (e instanceof DBusError) return e;
  return new DBusError(transportErrorName(e, op), `${text}: ${errorText(e)}`, { cause: e });
}
