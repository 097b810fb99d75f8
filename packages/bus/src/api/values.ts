// Argument values against signatures: check and normalise what the API user
// passes before the wire layer sees it, and map unix fds both ways.
import { INT64_RANGES, INTEGER_RANGES } from '../wire/limits.js';
import { isValidObjectPath } from '../wire/names.js';
import { Variant } from '../wire/variant.js';
import { parseSignature, parseSingleType, type SignatureNode } from '../wire/signature.js';

/** A value did not fit its signature; `where` names the argument and path. */
export class ArgumentError extends TypeError {
  override name = 'ArgumentError';
  constructor(readonly where: string, reason: string) {
    super(`${where}: ${reason}`);
  }
}

const TYPE_NAMES: Record<string, string> = {
  y: 'byte', b: 'boolean', n: 'int16', q: 'uint16', i: 'int32', u: 'uint32', x: 'int64',
  t: 'uint64', d: 'double', s: 'string', o: 'object path', g: 'signature', h: 'unix fd',
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Buffer.isBuffer(v)) return 'Buffer';
  return typeof v;
}

/** A short rendering of any value for messages; never throws. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  return describe(v);
}

/**
 * Check `values` against `signature` and return wire-ready copies: x/t given
 * as safe integers become bigints, Uint8Arrays for 'ay' become Buffers, Maps
 * for dicts become objects, and every 'h' (a real fd number here, as in
 * dbus-next) becomes an index into `fdsOut`, which collects the fds to pass.
 * `names` labels arguments in error messages.
 */
export function prepareOutgoing(signature: string, values: readonly unknown[], fdsOut: number[], names?: readonly string[]): unknown[] {
  const types = parseSignature(signature);
  if (values.length !== types.length) {
    throw new ArgumentError('arguments', `signature '${signature}' needs ${types.length} value(s), got ${values.length}`);
  }
  return types.map((t, i) => out(t, values[i], fdsOut, `argument ${i}${names?.[i] ? ` (${names[i]})` : ''}`));
}

/** Same as prepareOutgoing for a single complete type (a property value). */
export function prepareOutgoingValue(type: string, value: unknown, fdsOut: number[], where = 'value'): unknown {
  return out(parseSingleType(type), value, fdsOut, where);
}

function out(t: SignatureNode, v: unknown, fds: number[], where: string): unknown {
  switch (t.type) {
    case 'v': {
      if (!(v instanceof Variant)) throw new ArgumentError(where, `expected a Variant, got ${describe(v)}`);
      let inner: SignatureNode;
      try {
        inner = parseSingleType(v.signature);
      } catch (e) {
        throw new ArgumentError(where, (e as Error).message);
      }
      return new Variant(v.signature, out(inner, v.value, fds, `${where} (variant '${v.signature}')`));
    }
    case 'a': {
      const elem = t.child[0]!;
      if (elem.type === 'y') {
        if (Buffer.isBuffer(v)) return v;
        if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        if (Array.isArray(v)) return Buffer.from(v.map((b, i) => outBasic('y', b, fds, `${where}[${i}]`) as number));
        throw new ArgumentError(where, `expected a Buffer for 'ay', got ${describe(v)}`);
      }
      if (elem.type === '{') {
        const [key, value] = elem.child as [SignatureNode, SignatureNode];
        let entries: [unknown, unknown][];
        if (v instanceof Map) entries = [...v.entries()];
        else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) entries = Object.entries(v as Record<string, unknown>);
        else throw new ArgumentError(where, `expected an object or Map for a dict, got ${describe(v)}`);
        const res: Record<string, unknown> = {};
        for (const [k, val] of entries) {
          if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint' && typeof k !== 'boolean') {
            throw new ArgumentError(where, `dict keys must be strings, numbers, bigints or booleans, got ${describe(k)}`);
          }
          checkKey(key.type, k, `${where} key '${String(k)}'`);
          res[String(k)] = out(value, val, fds, `${where}['${String(k)}']`);
        }
        return res;
      }
      if (!Array.isArray(v)) throw new ArgumentError(where, `expected an array, got ${describe(v)}`);
      return v.map((e, i) => out(elem, e, fds, `${where}[${i}]`));
    }
    case '(': {
      if (!Array.isArray(v)) throw new ArgumentError(where, `expected an array for a struct, got ${describe(v)}`);
      if (v.length !== t.child.length) throw new ArgumentError(where, `struct needs ${t.child.length} fields, got ${v.length}`);
      return t.child.map((f, i) => out(f, v[i], fds, `${where}.${i}`));
    }
    default:
      return outBasic(t.type, v, fds, where);
  }
}

// Dict keys travel as object property names (strings), so a numeric key is
// checked by what it parses to.
function checkKey(code: string, k: unknown, where: string): void {
  if (code === 's' || code === 'o' || code === 'g') {
    outBasic(code, k, [], where);
    return;
  }
  if (code === 'b') {
    if (typeof k === 'boolean' || k === 'true' || k === 'false') return;
    throw new ArgumentError(where, 'expected a boolean key');
  }
  if (code === 'h') throw new ArgumentError(where, 'unix fds cannot be dict keys here');
  const s = String(k);
  if (code === 'd') {
    if (Number.isNaN(Number(s))) throw new ArgumentError(where, 'expected a numeric key');
    return;
  }
  if (!/^-?\d+$/.test(s)) throw new ArgumentError(where, `expected an integer key for ${TYPE_NAMES[code]}`);
  if (code === 'x' || code === 't') outBasic(code, BigInt(s), [], where);
  else outBasic(code, Number(s), [], where);
}

function outBasic(code: string, v: unknown, fds: number[], where: string): unknown {
  const range = INTEGER_RANGES[code];
  if (range) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) {
      throw new ArgumentError(where, `expected ${TYPE_NAMES[code]} (integer ${range[0]}..${range[1]}), got ${show(v)}`);
    }
    return v;
  }
  const r64 = INT64_RANGES[code];
  if (r64) {
    let b: bigint;
    if (typeof v === 'bigint') b = v;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
    else throw new ArgumentError(where, `expected ${TYPE_NAMES[code]} (bigint or safe integer), got ${describe(v)}`);
    if (b < r64[0] || b > r64[1]) throw new ArgumentError(where, `${b} out of range for ${TYPE_NAMES[code]}`);
    return b;
  }
  switch (code) {
    case 'b':
      if (typeof v !== 'boolean') throw new ArgumentError(where, `expected boolean, got ${describe(v)}`);
      return v;
    case 'd':
      if (typeof v !== 'number') throw new ArgumentError(where, `expected double (number), got ${describe(v)}`);
      return v;
    case 's':
      if (typeof v !== 'string') throw new ArgumentError(where, `expected string, got ${describe(v)}`);
      if (v.includes('\0')) throw new ArgumentError(where, 'strings may not contain NUL');
      return v;
    case 'o':
      if (typeof v !== 'string' || !isValidObjectPath(v)) throw new ArgumentError(where, `expected an object path, got ${show(v)}`);
      return v;
    case 'g':
      if (typeof v !== 'string') throw new ArgumentError(where, `expected a signature string, got ${describe(v)}`);
      try {
        parseSignature(v);
      } catch (e) {
        throw new ArgumentError(where, (e as Error).message);
      }
      return v;
    case 'h': {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ArgumentError(where, `expected a unix fd (non-negative integer), got ${show(v)}`);
      let idx = fds.indexOf(v);
      if (idx < 0) idx = fds.push(v) - 1;
      return idx;
    }
  }
  throw new ArgumentError(where, `unsupported type code '${code}'`);
}

/**
 * Map received values for the API user: every 'h' (an index into the
 * message's fd list on the wire) becomes the fd itself. Values are otherwise
 * returned as the wire layer decoded them. An index with no fd is a peer bug
 * and gives -1, so a handler never mistakes it for a real descriptor.
 */
export function mapIncomingFds(signature: string, values: unknown[], fds: readonly number[]): unknown[] {
  // Variants can hide an 'h' only if the message carried fds at all.
  if (!signature.includes('h') && (fds.length === 0 || !signature.includes('v'))) return values;
  const types = parseSignature(signature);
  return types.map((t, i) => inc(t, values[i], fds));
}

export function mapIncomingValueFds(type: string, value: unknown, fds: readonly number[]): unknown {
  if (!type.includes('h') && (fds.length === 0 || !type.includes('v'))) return value;
  return inc(parseSingleType(type), value, fds);
}

function inc(t: SignatureNode, v: unknown, fds: readonly number[]): unknown {
  if (!hasFdOrVariant(t)) return v;
  switch (t.type) {
    case 'h':
      return typeof v === 'number' ? (fds[v] ?? -1) : v;
    case 'v':
      if (v instanceof Variant) {
        const inner = parseSingleType(v.signature);
        return hasFdOrVariant(inner) ? new Variant(v.signature, inc(inner, v.value, fds)) : v;
      }
      return v;
    case 'a': {
      const elem = t.child[0]!;
      if (elem.type === '{') {
        if (v === null || typeof v !== 'object') return v;
        const res: Record<string, unknown> = {};
        for (const [k, val] of Object.entries(v as Record<string, unknown>)) res[k] = inc(elem.child[1]!, val, fds);
        return res;
      }
      return Array.isArray(v) ? v.map((e) => inc(elem, e, fds)) : v;
    }
    case '(':
      return Array.isArray(v) ? t.child.map((f, i) => inc(f, v[i], fds)) : v;
    default:
      return v;
  }
}

// A subtree with neither fds nor variants (which may hide fds) needs no walk.
function hasFdOrVariant(t: SignatureNode): boolean {
  return t.signature.includes('h') || t.signature.includes('v');
}
