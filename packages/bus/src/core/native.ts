// The few syscalls the core takes from the @ipnbus/native addon: flock and dup.
import { createRequire } from 'node:module';
import { DBusError, ErrorNames } from './errors.js';

export interface CoreAddon {
  /** 0, or -EWOULDBLOCK with LOCK_NB; throws (code = errno name) otherwise. */
  flock(fd: number, operation: number): number;
  /** A new fd for the same open file (close-on-exec). */
  dup(fd: number): number;
}

let addon: CoreAddon | undefined;

/**
 * Loaded lazily so that code paths that never need it (parsing, tests of
 * pure logic) do not need the compiled addon.
 */
export function native(): CoreAddon {
  if (addon === undefined) {
    const require = createRequire(import.meta.url);
    const mod = require('@ipnbus/native') as Partial<CoreAddon>;
    if (typeof mod.flock !== 'function' || typeof mod.dup !== 'function') {
      throw new DBusError(ErrorNames.NotSupported, 'the @ipnbus/native addon lacks flock() or dup()');
    }
    addon = mod as CoreAddon;
  }
  return addon;
}
