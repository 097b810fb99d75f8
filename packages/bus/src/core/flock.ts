// flock(2) through the native addon: crash-safe file locks the kernel drops when a holder dies.
import { DEFAULT_CALL_TIMEOUT_MS } from './constants.js';
import { DBusError, ErrorNames } from './errors.js';
import { native } from './native.js';

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** Takes the lock without waiting: true if taken, false if someone holds it. */
export function tryLock(fd: number, exclusive = true): boolean {
  return native().flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0;
}

export function unlock(fd: number): void {
  native().flock(fd, LOCK_UN);
}

/**
 * How long core waits for a lock in the bus directory: as long as a D-Bus
 * caller waits for a reply, so a RequestName behind a slow holder fails
 * no sooner than the call carrying it would.
 */
export const LOCK_WAIT_MS = DEFAULT_CALL_TIMEOUT_MS;

/**
 * Waits for the lock without blocking the event loop: non-blocking
 * attempts with a growing pause (1 to 20 ms). Locks in the bus directory
 * are held for a few file writes only, so the wait is short; `timeoutMs`
 * guards against a holder that is alive but stuck. `what` names the lock
 * file in the error.
 */
export async function lock(fd: number, what: string, timeoutMs = LOCK_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  while (!tryLock(fd)) {
    if (Date.now() > deadline) {
      throw new DBusError(ErrorNames.Timeout, `timed out after ${timeoutMs} ms waiting for ${what}: another process holds it`);
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 20);
  }
}
