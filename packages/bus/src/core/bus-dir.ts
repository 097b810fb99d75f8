// The bus directory: creation with its mode, the core's subdirectories and the bus id.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { makeParents } from '@ipnbus/transport-ipn';
import { DBusError, ErrorNames } from './errors.js';

/**
 * Layout:
 *   bus             the network: an AF_IPN socket node (kernel backend) or
 *                   the user backend's mesh directory; the transport tells
 *                   which by the file type, so joiners follow the creator
 *   bus-id          32 hex chars, written once by the creator
 *   generation      the network generation (decimal), bumped under bus.lock
 *                   each time a network is created in this directory
 *   bus.lock        guard taken to create or replace the network
 *   names/<n>.json  owner and queue of well-known name <n> (with its generation)
 *   names/<n>.lock  guard taken while changing <n>.json
 *   live/<g>/<id>   locked by member <id> of generation <g> for its whole life
 *
 * Why generations: a kernel network dies when its last member leaves and is
 * replaced by a new one whose member ids restart at 1. Unique names are
 * ':<generation>.<id>', so no unique name is ever reused in the bus's life,
 * and files keyed by generation cannot be mistaken for a new member's.
 */
export interface BusDir {
  path: string;
  /** Where the transport's network lives. */
  networkPath: string;
  namesDir: string;
  /** live/<generation>: this generation's member lock files. */
  liveDir: string;
  busId: string;
  /** Generation of the network this member is in (1 until one is replaced). */
  generation: number;
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
    makeParents(parent);
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
    mkdirMode(join(liveDir, '1'), sub);
    return { path, networkPath: join(path, 'bus'), namesDir, liveDir: join(liveDir, '1'), busId: ensureBusId(path), generation: 1 };
  } catch (e) {
    if (e instanceof DBusError) throw e;
    const err = e as NodeJS.ErrnoException;
    const name = err.code === 'EACCES' || err.code === 'EPERM' ? ErrorNames.AccessDenied : ErrorNames.Failed;
    throw new DBusError(name, `cannot open bus directory ${path}: ${err.message}`);
  }
}

/** The recorded generation: 1 when none was recorded (a bus whose network was never replaced). */
export function readGeneration(path: string): number {
  let text: string;
  try {
    text = fs.readFileSync(join(path, 'generation'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 1;
    throw e;
  }
  const g = Number(text.trim());
  if (!Number.isSafeInteger(g) || g < 1) throw new DBusError(ErrorNames.Failed, `corrupt generation in ${path}`);
  return g;
}

/** `dir` as seen by a member of network generation `generation` (its live/<g> made if missing). */
export function withGeneration(dir: BusDir, generation: number): BusDir {
  if (generation === dir.generation) return dir;
  const liveDir = join(dir.path, 'live', String(generation));
  mkdirMode(liveDir, fs.statSync(dir.path).mode & 0o777);
  return { ...dir, liveDir, generation };
}

/**
 * Starts a new generation before a network is created in `dir` (the caller
 * holds bus.lock and the old network, if any, has no member left). Every
 * member of older generations is gone, so their lock files and name records
 * are removed: none may be taken for a member of the new network.
 */
export function nextGeneration(dir: BusDir, replacing: boolean): number {
  const file = join(dir.path, 'generation');
  const g = replacing || fs.existsSync(file) ? readGeneration(dir.path) + 1 : 1;
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, `${g}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file);
  const live = join(dir.path, 'live');
  for (const e of fs.readdirSync(live)) {
    if (e !== String(g)) fs.rmSync(join(live, e), { recursive: true, force: true });
  }
  for (const e of fs.readdirSync(dir.namesDir)) {
    if (e.endsWith('.json')) fs.rmSync(join(dir.namesDir, e), { force: true });
  }
  return g;
}
