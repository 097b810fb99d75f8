// Activation's files in the bus directory: its configuration, the activation environment, the gateways' addresses.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DBusError, ErrorNames } from '../errors.js';
import { openBusDir } from '../bus-dir.js';
import { lock, unlock } from '../flock.js';

/**
 * Layout (beside bus-dir.ts's):
 *   activation.json        optional bus configuration, written by whoever
 *                          sets the bus up: { "enabled": false } turns
 *                          activation off for every member; "serviceDirs"
 *                          are searched before the XDG ones;
 *                          "serviceStartTimeoutMs" is how long a started
 *                          service has to take its name (dbus-daemon's
 *                          service_start_timeout limit, default 25000)
 *   activation-env.json    the activation environment (UpdateActivationEnvironment)
 *   activation-env.lock    guard for its read-modify-write
 *   activation/<name>.lock held by the member starting <name> (exactly one at a time)
 *   activation/<name>.failed  why the last attempt failed, for members that waited on it
 *   gateways/<pid>         address a running `ipnbus gateway` (process <pid>) listens on
 * All with the bus directory's permission bits (busModes).
 */
/**
 * Modes for what activation creates in the bus directory: the directory's
 * own bits, so exactly those who may join (the access control) may use
 * them; files without the execute bits.
 */
export function busModes(busPath: string): { dir: number; file: number } {
  const mode = fs.statSync(busPath).mode & 0o777;
  return { dir: mode, file: mode & 0o666 };
}

export interface ActivationConfig {
  enabled: boolean;
  serviceDirs: string[];
  /** How long a started service has to take its name, in ms (dbus-daemon's `service_start_timeout`). */
  serviceStartTimeoutMs: number;
}

/** dbus-daemon's default service_start_timeout. */
export const DEFAULT_SERVICE_START_TIMEOUT_MS = 25_000;
/** The longest a timer can wait (setTimeout's limit, and what a D-Bus timeout in ms fits in). */
export const MAX_SERVICE_START_TIMEOUT_MS = 0x7fffffff;

/**
 * A start timeout in ms: an integer from 1 to MAX_SERVICE_START_TIMEOUT_MS;
 * `where` names the field in the error (`errorName`: InvalidArgs for an
 * argument, Failed for the bus's file, as its other fields).
 */
export function checkStartTimeout(value: unknown, where: string, errorName: string = ErrorNames.InvalidArgs): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_SERVICE_START_TIMEOUT_MS) {
    throw new DBusError(
      errorName,
      `${where} must be a whole number of milliseconds from 1 to ${MAX_SERVICE_START_TIMEOUT_MS}, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return value;
}

export function readActivationConfig(busPath: string): ActivationConfig {
  const file = join(busPath, 'activation.json');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return { enabled: true, serviceDirs: [], serviceStartTimeoutMs: DEFAULT_SERVICE_START_TIMEOUT_MS };
    }
    throw new DBusError(ErrorNames.Failed, `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  const o = (raw ?? {}) as { enabled?: unknown; serviceDirs?: unknown; serviceStartTimeoutMs?: unknown };
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') {
    throw new DBusError(ErrorNames.Failed, `${file}: "enabled" must be true or false`);
  }
  const dirs = o.serviceDirs ?? [];
  if (!Array.isArray(dirs) || dirs.some((d) => typeof d !== 'string' || !d.startsWith('/'))) {
    throw new DBusError(ErrorNames.Failed, `${file}: "serviceDirs" must be a list of absolute paths`);
  }
  // null is refused like any other non-number, not taken for "unset".
  const timeout = o.serviceStartTimeoutMs === undefined ? DEFAULT_SERVICE_START_TIMEOUT_MS : o.serviceStartTimeoutMs;
  return {
    enabled: o.enabled !== false,
    serviceDirs: dirs as string[],
    serviceStartTimeoutMs: checkStartTimeout(timeout, `${file}: "serviceStartTimeoutMs"`, ErrorNames.Failed),
  };
}

export function writeActivationConfig(busPath: string, config: Partial<ActivationConfig>): void {
  // Refused here rather than by every member that reads it later.
  if (config.serviceStartTimeoutMs !== undefined) checkStartTimeout(config.serviceStartTimeoutMs, '"serviceStartTimeoutMs"');
  writeAtomic(join(busPath, 'activation.json'), JSON.stringify(config, null, 2) + '\n', 0o644);
}

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, text, { mode });
  fs.renameSync(tmp, file);
}

export function readActivationEnv(busPath: string): Record<string, string> {
  try {
    const o = JSON.parse(fs.readFileSync(join(busPath, 'activation-env.json'), 'utf8')) as Record<string, unknown>;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) if (typeof v === 'string') env[k] = v;
    return env;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new DBusError(ErrorNames.Failed, `cannot read the activation environment: ${(e as Error).message}`, { cause: e });
  }
}

/** A variable name UpdateActivationEnvironment accepts: non-empty, no '=' or NUL. */
function checkVar(key: string, value: string): void {
  if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) {
    throw new DBusError(ErrorNames.InvalidArgs, `'${key}' is not a valid environment variable name (non-empty, without '=' or NUL)`);
  }
}

/** Merges `vars` into the stored activation environment (under its lock, never blocking the event loop). */
export async function updateActivationEnv(busPath: string, vars: Record<string, string>): Promise<void> {
  for (const [k, v] of Object.entries(vars)) checkVar(k, v);
  const lockPath = join(busPath, 'activation-env.lock');
  const modes = busModes(busPath);
  const fd = fs.openSync(lockPath, fs.constants.O_RDONLY | fs.constants.O_CREAT, modes.file);
  try {
    await lock(fd, lockPath);
    try {
      const env = { ...readActivationEnv(busPath), ...vars };
      writeAtomic(join(busPath, 'activation-env.json'), JSON.stringify(env) + '\n', modes.file);
    } finally {
      unlock(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Records that this process runs a gateway listening on `address` (removed by the returned function). */
export function registerGateway(busPath: string, address: string): () => void {
  // The bus directory may not exist yet: made as connect() makes it (its mode is the access control).
  openBusDir(busPath);
  const dir = join(busPath, 'gateways');
  const modes = busModes(busPath);
  fs.mkdirSync(dir, { recursive: true, mode: modes.dir });
  const file = join(dir, String(process.pid));
  writeAtomic(file, address + '\n', modes.file);
  return () => {
    try {
      fs.unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The address of a running gateway of this bus (the most recently started), if any. */
export function gatewayAddress(busPath: string): string | undefined {
  const dir = join(busPath, 'gateways');
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  let best: { at: number; address: string } | undefined;
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isSafeInteger(pid) || pid <= 0 || !processAlive(pid)) continue;
    try {
      const file = join(dir, e);
      const at = fs.statSync(file).mtimeMs;
      const address = fs.readFileSync(file, 'utf8').trim();
      if (address !== '' && (best === undefined || at > best.at)) best = { at, address };
    } catch {
      // Removed meanwhile.
    }
  }
  return best?.address;
}
