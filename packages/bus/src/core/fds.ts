// Received file descriptors: whoever takes a message owns its fds and closes those it does not pass on.
import * as fs from 'node:fs';
import { DBusError, ErrorNames, errorText } from './errors.js';
import { native } from './native.js';

/** Closes each fd, ignoring ones already closed (a message dropped after its fds were taken). */
export function closeFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
  }
}

/** A copy of `fd` (close-on-exec) the receiver owns, as after SCM_RIGHTS. Throws DBusError InvalidArgs for an fd that cannot be passed. */
export function dupFd(fd: number): number {
  try {
    return native().dup(fd);
  } catch (e) {
    throw new DBusError(ErrorNames.InvalidArgs, `cannot pass fd ${fd}: ${errorText(e)}`, { cause: e });
  }
}
