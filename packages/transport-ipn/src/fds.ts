// Descriptor helpers both backends use: closing without caring whether the
// fd is still open, and asking for a socket buffer size without depending
// on getting it.
import { closeSync } from 'node:fs';
import native from '@ipnbus/native';

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

/**
 * Sets a socket buffer size: the FORCE variant first (root may exceed the
 * sysctl cap), else the plain one (capped by the kernel). Failures leave the
 * default: correctness never depends on the size.
 */
export function setBuffer(fd: number, forceOpt: number, opt: number, bytes: number): void {
  try {
    native.setsockoptInt(fd, native.constants.SOL_SOCKET, forceOpt, bytes);
    return;
  } catch {
    // Not privileged: fall through.
  }
  try {
    native.setsockoptInt(fd, native.constants.SOL_SOCKET, opt, bytes);
  } catch {
    // Keep the default.
  }
}
