// Typed errors of the transport layer: one class, errno-style codes.
/**
 * Codes: errno names from the kernel/addon (EACCES, ENOENT, EHOSTUNREACH,
 * EMSGSIZE, ENOBUFS, ...) plus ERR_CLOSED (network closed), ERR_INVALID_ARG
 * (bad argument), ERR_BAD_NETWORK (path is not an ipnbus network),
 * ERR_NO_KERNEL (kernel backend requested, ipn.ko not loaded).
 */
export class TransportError extends Error {
  readonly code: string;
  readonly syscall: string | undefined;

  constructor(code: string, message: string, syscall?: string) {
    super(`${code}: ${message}`);
    this.name = 'TransportError';
    this.code = code;
    this.syscall = syscall;
  }
}

/** Wraps an addon/fs errno error so callers see one error type. */
export function fromErrno(err: unknown, what: string): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as { code?: unknown; syscall?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'EUNKNOWN';
  const syscall = typeof e?.syscall === 'string' ? e.syscall : undefined;
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return new TransportError(code, `${what}: ${msg}`, syscall);
}
