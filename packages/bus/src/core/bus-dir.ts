// The bus directory: creation with its mode, the core's subdirectories and the bus id.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { DBusError, ErrorNames } from './errors.js';

/**
 * Layout:
 *   bus             the network: an AF_IPN socket node (kernel backend) or
 *                   the user backend's mesh directory; the transport tells
 *                   which by the file type, so joiners follow the creator
 *   bus-id          32 hex chars, written once by the creator
 *   names/<n>.json  owner and queue of well-known name <n>
 *   names/<n>.lock  guard taken while changing <n>.json
 *   live/<id>       locked by member <id> for its whole life
 */
export interface BusDir {
  path: string;
  /** Where the transport's network lives. */
  networkPath: string;
  namesDir: string;
  liveDir: string;
  busId: string;
}

function mkdirMode(path: string, mode: number): void {
  try {
    fs.mkdirSync(path, { mode });
    // mkdir applies the umask; the bus directory's mode is its access control,
    // so set exactly what was asked.
    fs.chmodSync(path, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Reads the bus id, creating it atomically (link never overwrites) if absent. */
function ensureBusId(dir: string): string {
  const file = join(dir, 'bus-id');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const id = fs.readFileSync(file, 'utf8').trim();
      if (/^[0-9a-f]{32}$/.test(id)) return id;
      throw new DBusError(ErrorNames.Failed, `corrupt bus id in ${file}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, randomBytes(16).toString('hex') + '\n', { mode: 0o644 });
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.unlinkSync(tmp);
    }
  }
  throw new DBusError(ErrorNames.Failed, `cannot create the bus id in ${dir}`);
}

/**
 * Creates the bus directory (and missing parents, 0700) if absent, else
 * joins it. Errors from the file system (EACCES on someone else's bus...)
 * surface as DBusError AccessDenied/Failed with the path in the text.
 */
export function openBusDir(path: string, mode = 0o700): BusDir {
  try {
    const parent = dirname(path);
    if (!fs.existsSync(parent)) fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
    mkdirMode(path, mode);
    const st = fs.statSync(path);
    if (!st.isDirectory()) {
      throw new DBusError(ErrorNames.Failed, `bus path ${path} exists and is not a directory`);
    }
    // Subdirectories follow the bus directory's mode: whoever may join may
    // own names, nobody else.
    const sub = st.mode & 0o777;
    const namesDir = join(path, 'names');
    const liveDir = join(path, 'live');
    mkdirMode(namesDir, sub);
    mkdirMode(liveDir, sub);
    return { path, networkPath: join(path, 'bus'), namesDir, liveDir, busId: ensureBusId(path) };
  } catch (e) {
    if (e instanceof DBusError) throw e;
    const err = e as NodeJS.ErrnoException;
    const name = err.code === 'EACCES' || err.code === 'EPERM' ? ErrorNames.AccessDenied : ErrorNames.Failed;
    throw new DBusError(name, `cannot open bus directory ${path}: ${err.message}`);
  }
}
