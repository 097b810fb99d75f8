// Bus addresses: parsing 'ipnbus:path=...' (D-Bus address syntax) and the default session address.
import { join } from 'node:path';
import { DBusError, ErrorNames } from './errors.js';
import { fallbackRuntimeDir } from './runtime-dir.js';

const BAD_ADDRESS = ErrorNames.BadAddress;

export interface BusAddress {
  /** The bus directory. */
  path: string;
}

/** Undoes the D-Bus address escaping (%xx for bytes outside [-0-9A-Za-z_/.\*]). */
function unescapeValue(v: string, whole: string): string {
  if (!/^(?:[-0-9A-Za-z_/.\\*]|%[0-9A-Fa-f]{2})*$/.test(v)) {
    throw new DBusError(BAD_ADDRESS, `bad escaping in address '${whole}'`);
  }
  return Buffer.from(
    v.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

/**
 * Parses a D-Bus address list ("a;b") and returns the first ipnbus entry.
 * Other transports (unix:, tcp:) belong to the gateway, not here.
 */
export function parseAddress(address: string): BusAddress {
  if (typeof address !== 'string' || address.length === 0) {
    throw new DBusError(BAD_ADDRESS, 'empty bus address');
  }
  const seen: string[] = [];
  for (const entry of address.split(';')) {
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new DBusError(BAD_ADDRESS, `address '${entry}' has no transport name`);
    const transport = entry.slice(0, colon);
    seen.push(transport);
    if (transport !== 'ipnbus') continue;
    const params = new Map<string, string>();
    for (const kv of entry.slice(colon + 1).split(',')) {
      if (kv === '') continue;
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new DBusError(BAD_ADDRESS, `address parameter '${kv}' is not key=value`);
      const key = kv.slice(0, eq);
      if (params.has(key)) throw new DBusError(BAD_ADDRESS, `address parameter '${key}' given twice`);
      params.set(key, unescapeValue(kv.slice(eq + 1), entry));
    }
    const path = params.get('path');
    if (path === undefined || path === '') throw new DBusError(BAD_ADDRESS, `address '${entry}' needs path=`);
    if (!path.startsWith('/')) throw new DBusError(BAD_ADDRESS, `address path '${path}' is not absolute`);
    return { path };
  }
  throw new DBusError(BAD_ADDRESS, `no ipnbus: entry in address '${address}' (found: ${seen.join(', ') || 'none'})`);
}

/**
 * $XDG_RUNTIME_DIR/ipnbus/session, or $TMPDIR/ipnbus-<uid>/session (/tmp
 * without TMPDIR) without a runtime dir: connect() makes or checks that
 * directory (runtime-dir.ts).
 */
export function defaultBusPath(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime) return join(runtime, 'ipnbus', 'session');
  return join(fallbackRuntimeDir(), 'session');
}

/** The address to use when none is given: $IPNBUS_ADDRESS, else the default session bus. */
export function defaultAddress(): string {
  return process.env.IPNBUS_ADDRESS || `ipnbus:path=${escapeAddressValue(defaultBusPath())}`;
}

export function escapeAddressValue(v: string): string {
  let out = '';
  for (const b of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[-0-9A-Za-z_/.\\*]/.test(c) ? c : '%' + b.toString(16).padStart(2, '0');
  }
  return out;
}
