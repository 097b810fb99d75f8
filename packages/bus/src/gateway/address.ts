// D-Bus server addresses the gateway listens on: 'unix:path=' and 'unix:abstract='.
// Escaping is the one core uses for ipnbus: addresses; unescaping stays here, lenient and with the gateway's error.
import { escapeAddressValue } from '../core/address.js';
import { GatewayError } from './errors.js';

/** Where a gateway listens, in the form node:net and clients each need. */
export interface ListenAddress {
  kind: 'path' | 'abstract';
  /** Filesystem path, or the abstract name without its leading NUL. */
  name: string;
  /** What node:net's listen() takes (abstract names get a leading NUL). */
  netPath: string;
  /** The D-Bus address string to hand to clients (DBUS_SESSION_BUS_ADDRESS). */
  dbusAddress: string;
}

/** Undo %xx escapes; a stray '%' is an error rather than a guess. */
export function unescapeAddressValue(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '%') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        throw new GatewayError('BadAddress', `bad %-escape in address value '${value}'`);
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Parse the first entry of a D-Bus address list that the gateway can serve.
 * Only unix:path= and unix:abstract= are accepted: the gateway needs
 * SO_PEERCRED, which tcp: cannot give.
 */
export function parseListenAddress(address: string): ListenAddress {
  if (typeof address !== 'string' || address.length === 0) {
    throw new GatewayError('BadAddress', 'listen address is empty');
  }
  const entry = address.split(';')[0]!;
  const colon = entry.indexOf(':');
  if (colon < 0) {
    throw new GatewayError('BadAddress', `address '${address}' has no transport (expected unix:path=...)`);
  }
  const transport = entry.slice(0, colon);
  if (transport !== 'unix') {
    throw new GatewayError('BadAddress', `transport '${transport}' is not supported (only unix:path= or unix:abstract=)`);
  }
  const params = new Map<string, string>();
  for (const pair of entry.slice(colon + 1).split(',')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new GatewayError('BadAddress', `bad key=value '${pair}' in address '${address}'`);
    const key = pair.slice(0, eq);
    if (params.has(key)) throw new GatewayError('BadAddress', `key '${key}' repeated in address '${address}'`);
    params.set(key, unescapeAddressValue(pair.slice(eq + 1)));
  }
  const path = params.get('path');
  const abstract = params.get('abstract');
  if ((path === undefined) === (abstract === undefined)) {
    throw new GatewayError('BadAddress', `address '${address}' needs exactly one of path= or abstract=`);
  }
  for (const key of params.keys()) {
    if (key !== 'path' && key !== 'abstract' && key !== 'guid') {
      throw new GatewayError('BadAddress', `key '${key}' is not supported in address '${address}'`);
    }
  }
  if (path !== undefined) {
    if (path.length === 0 || path.includes('\0')) {
      throw new GatewayError('BadAddress', `bad socket path in '${address}'`);
    }
    // sockaddr_un.sun_path is 108 bytes including the NUL.
    if (Buffer.byteLength(path) > 107) {
      throw new GatewayError('BadAddress', `socket path longer than 107 bytes: '${path}'`);
    }
    return { kind: 'path', name: path, netPath: path, dbusAddress: `unix:path=${escapeAddressValue(path)}` };
  }
  const name = abstract!;
  if (name.length === 0 || name.includes('\0') || Buffer.byteLength(name) > 106) {
    throw new GatewayError('BadAddress', `bad abstract socket name in '${address}'`);
  }
  return { kind: 'abstract', name, netPath: '\0' + name, dbusAddress: `unix:abstract=${escapeAddressValue(name)}` };
}
