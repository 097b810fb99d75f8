// The bus package's one loader of the @ipnbus/native addon: the few syscalls the core takes from it (flock and dup), and the module itself for the gateway's own sockets (gateway/native-addon.ts).
import { createRequire } from 'node:module';
import { DBusError, ErrorNames } from './errors.js';

export interface CoreAddon {
  /** 0, or -EWOULDBLOCK with LOCK_NB; throws (code = errno name) otherwise. */
  flock(fd: number, operation: number): number;
  /** A new fd for the same open file (close-on-exec). */
  dup(fd: number): number;
}

let loaded: Record<string, unknown> | null | undefined;

/**
 * The addon's exports, loaded once, or null when it cannot be loaded.
 * Loaded lazily so that code paths that never need it (parsing, tests of
 * pure logic) do not need the compiled addon.
 */
export function nativeModule(): Record<string, unknown> | null {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      loaded = require('@ipnbus/native') as Record<string, unknown>;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** flock and dup, or DBusError NotSupported when the addon is missing or lacks them. */
export function native(): CoreAddon {
  const mod = nativeModule();
  if (mod === null || typeof mod.flock !== 'function' || typeof mod.dup !== 'function') {
    throw new DBusError(ErrorNames.NotSupported, 'the @ipnbus/native addon is missing or lacks flock() or dup()');
  }
  return mod as unknown as CoreAddon;
}
