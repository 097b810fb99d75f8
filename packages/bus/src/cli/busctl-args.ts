// Converts busctl-style words ("as 2 a b", "a{sv} 1 k s v", "v i 3") to typed
// D-Bus values, and prints values back in the same syntax so output can be pasted as input.
import { INT64_RANGES, INTEGER_RANGES } from '../wire/limits.js';
import { Variant, isValidObjectPath, type SignatureNode } from '../wire/index.js';
import { UsageError } from './errors.js';
import { parseSignature } from './signature.js';

/** Parse `words` as values of `signature`; every word must be used. */
export function parseArgsForSignature(signature: string, words: string[]): unknown[] {
  const types = parseSignature(signature);
  const cursor = { words, pos: 0 };
  const values = types.map((t) => parseValue(t, cursor));
  if (cursor.pos !== words.length) {
    throw new UsageError(`too many arguments for signature '${signature}': '${words.slice(cursor.pos).join(' ')}' left over`);
  }
  return values;
}

interface Cursor {
  words: string[];
  pos: number;
}

function take(c: Cursor, what: string): string {
  const w = c.words[c.pos];
  if (w === undefined) throw new UsageError(`missing argument: expected ${what}`);
  c.pos++;
  return w;
}

function parseValue(t: SignatureNode, c: Cursor): unknown {
  switch (t.type) {
    case 'y': case 'n': case 'q': case 'i': case 'u': {
      const w = take(c, `an integer (${t.type})`);
      const [lo, hi] = INTEGER_RANGES[t.type]!;
      const n = Number(w);
      if (!/^-?\d+$/.test(w) || n < lo || n > hi) throw new UsageError(`'${w}' is not a valid '${t.type}' (${lo}..${hi})`);
      return n;
    }
    case 'x': case 't': {
      const w = take(c, `an integer (${t.type})`);
      if (!/^-?\d+$/.test(w)) throw new UsageError(`'${w}' is not a valid '${t.type}'`);
      const n = BigInt(w);
      const [lo, hi] = INT64_RANGES[t.type]!;
      if (n < lo || n > hi) throw new UsageError(`'${w}' is out of range for '${t.type}'`);
      return n;
    }
    case 'd': {
      const w = take(c, 'a number (d)');
      const n = Number(w);
      if (w.trim() === '' || Number.isNaN(n)) throw new UsageError(`'${w}' is not a valid double`);
      return n;
    }
    case 'b': {
      const w = take(c, 'a boolean (b)').toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(w)) return true;
      if (['false', 'no', 'off', '0'].includes(w)) return false;
      throw new UsageError(`'${w}' is not a valid boolean`);
    }
    case 's': return take(c, 'a string (s)');
    case 'o': {
      const w = take(c, 'an object path (o)');
      if (!isValidObjectPath(w)) throw new UsageError(`'${w}' is not a valid object path`);
      return w;
    }
    case 'g': {
      const w = take(c, 'a signature (g)');
      parseSignature(w);
      return w;
    }
    case 'h':
      throw new UsageError('passing unix fds (h) from the command line is not supported');
    case 'v': {
      const sig = take(c, 'a variant signature');
      const inner = parseSignature(sig);
      if (inner.length !== 1) throw new UsageError(`variant signature '${sig}' must be one complete type`);
      return new Variant(sig, parseValue(inner[0]!, c));
    }
    case '(':
      return t.child.map((f) => parseValue(f, c));
    case 'a': {
      const w = take(c, `an element count for '${t.signature}'`);
      if (!/^\d+$/.test(w)) throw new UsageError(`'${w}' is not a valid element count for '${t.signature}'`);
      const count = Number(w);
      const elem = t.child[0]!;
      if (elem.type === 'y') {
        const bytes: number[] = [];
        for (let i = 0; i < count; i++) bytes.push(parseValue(elem, c) as number);
        return Buffer.from(bytes);
      }
      if (elem.type === '{') {
        const obj: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const key = parseValue(elem.child[0]!, c);
          obj[String(key)] = parseValue(elem.child[1]!, c);
        }
        return obj;
      }
      const arr: unknown[] = [];
      for (let i = 0; i < count; i++) arr.push(parseValue(elem, c));
      return arr;
    }
    default:
      throw new UsageError(`type '${t.type}' cannot be given on the command line`);
  }
}

/** Print values in busctl's syntax: "SIG v1 v2 ...". */
export function formatBusctl(signature: string, values: unknown[]): string {
  if (signature === '') return '';
  const types = parseSignature(signature);
  const parts = [signature];
  types.forEach((t, i) => parts.push(formatValue(t, values[i])));
  return parts.join(' ');
}

function formatValue(t: SignatureNode, v: unknown): string {
  switch (t.type) {
    case 's': case 'o': case 'g': return JSON.stringify(String(v));
    case 'b': return v ? 'true' : 'false';
    case 'v': {
      const variant = v as { signature?: string; value?: unknown };
      const sig = String(variant?.signature ?? '');
      const inner = parseSignature(sig)[0];
      return inner ? `${sig} ${formatValue(inner, variant.value)}` : sig;
    }
    case '(':
      return t.child.map((f, i) => formatValue(f, (v as unknown[])[i])).join(' ');
    case 'a': {
      const elem = t.child[0]!;
      if (elem.type === 'y' && (Buffer.isBuffer(v) || v instanceof Uint8Array)) {
        return [String(v.length), ...Array.from(v, String)].join(' ');
      }
      if (elem.type === '{') {
        const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
        const parts = [String(entries.length)];
        for (const [k, val] of entries) parts.push(formatValue(elem.child[0]!, k), formatValue(elem.child[1]!, val));
        return parts.join(' ');
      }
      const arr = v as unknown[];
      return [String(arr.length), ...arr.map((e) => formatValue(elem, e))].join(' ');
    }
    default:
      return String(v);
  }
}
