// The private directory a session bus falls back to without XDG_RUNTIME_DIR: ours alone, or refused.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DBusError, ErrorNames } from './errors.js';

function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** $TMPDIR/ipnbus-<uid> (/tmp without TMPDIR): where the default bus lives without XDG_RUNTIME_DIR. */
export function fallbackRuntimeDir(): string {
  return join(tmpdir(), `ipnbus-${currentUid()}`);
}

/**
 * Makes `path` (mode 0700) or checks the one found there, as ssh and
 * dbus-daemon check theirs. In a shared, world-writable /tmp another user
 * can make the directory first: joining a bus inside it would hand that
 * user our signals and let it answer our calls. So it must be a real
 * directory (not a symbolic link), owned by us, and not writable by group
 * or others; anything else is refused with AccessDenied naming the path,
 * its owner and its mode.
 */
export function ensurePrivateDir(path: string): void {
  try {
    fs.mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new DBusError(ErrorNames.Failed, `cannot create the bus runtime directory ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
  const st = fs.lstatSync(path);
  const uid = currentUid();
  const mode = st.mode & 0o7777;
  const problem = st.isSymbolicLink()
    ? 'is a symbolic link'
    : !st.isDirectory()
      ? 'is not a directory'
      : st.uid !== uid
        ? `is owned by uid ${st.uid}, not by us (uid ${uid})`
        : mode & 0o022
          ? 'is writable by others'
          : undefined;
  if (problem === undefined) return;
  throw new DBusError(
    ErrorNames.AccessDenied,
    `refusing the bus runtime directory ${path}: it ${problem} (owner uid ${st.uid}, mode ${mode.toString(8).padStart(4, '0')}); ` +
      'another user may have made it to read or answer our bus traffic. Remove it, or set XDG_RUNTIME_DIR or IPNBUS_ADDRESS',
  );
}
