// Received file descriptors: whoever takes a message owns its fds and closes those it does not pass on.
import * as fs from 'node:fs';

/** Closes each fd, ignoring ones already closed (a message dropped after its fds were taken). */
export function closeFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
  }
}
