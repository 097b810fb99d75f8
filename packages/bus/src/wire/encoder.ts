// Encoder compiler: turns a signature tree into closures that marshal JS values, cached per signature.
import { WireError } from './errors.js';
import { MAX_ARRAY_LENGTH, MAX_TOTAL_DEPTH } from './limits.js';
import { isValidObjectPath } from './names.js';
import { CodecCache, compiler, type CompiledType } from './codec-cache.js';
import { parseSignature, type SignatureNode } from './signature.js';
import { Variant } from './variant.js';
import type { Writer } from './writer.js';

/** Marshals one value of a fixed type at the writer's cursor. */
export type Encode = (w: Writer, v: unknown) => void;

const TWO_32 = 4294967296;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '...' : v}'`;
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

function badValue(w: Writer, type: string, v: unknown, why = ''): never {
  return w.fail('bad-value', `cannot marshal ${show(v)} as '${type}'${why ? ': ' + why : ''}`);
}

type WellFormed = { isWellFormed(): boolean };
const nativeWellFormed = typeof (String.prototype as unknown as Partial<WellFormed>).isWellFormed === 'function';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** String#isWellFormed (Node 20+), with a regex for older runtimes. */
function isWellFormed(s: string): boolean {
  return nativeWellFormed ? (s as unknown as WellFormed).isWellFormed() : !LONE_SURROGATE.test(s);
}

/**
 * Writes a D-Bus string body (length, UTF-8 bytes, NUL) after 4-alignment.
 * Short ASCII strings (most names and paths) are copied in a small loop, which
 * beats the native call; others go through Buffer#write in one native pass.
 */
function writeString(w: Writer, s: string): void {
  const n = s.length;
  w.align(4, 5 + n * 3);
  const buf = w.buf;
  const lenPos = w.pos;
  const p = lenPos + 4;
  let bytes = -1;
  if (n <= 24) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c === 0) break;
      buf[p + i] = c;
    }
    if (i === n) bytes = n;
  }
  if (bytes < 0) {
    if (s.indexOf('\0') !== -1) w.fail('embedded-nul', `string ${show(s)} contains a NUL character`);
    // A lone surrogate has no UTF-8 form; Buffer#write would silently turn it into U+FFFD.
    if (!isWellFormed(s)) w.fail('bad-utf8', `string ${show(s)} contains a lone surrogate`);
    bytes = buf.write(s, p, 'utf8');
  }
  w.dv.setUint32(lenPos, bytes, w.le);
  buf[p + bytes] = 0;
  w.pos = p + bytes + 1;
}

/** Writes a signature value ('g'): length byte, ASCII, NUL. The caller has validated it. */
export function writeSignature(w: Writer, sig: string): void {
  const n = sig.length;
  w.ensure(n + 2);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = n;
  for (let i = 0; i < n; i++) buf[p + i] = sig.charCodeAt(i);
  buf[p + n] = 0;
  w.pos = p + n + 1;
}

const encodeByte: Encode = (w, v) => {
  if (typeof v !== 'number' || (v & 0xff) !== v) badValue(w, 'y', v, 'need an integer 0..255');
  w.ensure(1);
  w.buf[w.pos++] = v;
};

const encodeBoolean: Encode = (w, v) => {
  let b: number;
  if (v === true || v === 1) b = 1;
  else if (v === false || v === 0) b = 0;
  else return badValue(w, 'b', v, 'need a boolean');
  w.align(4, 4);
  w.dv.setUint32(w.pos, b, w.le);
  w.pos += 4;
};

const encodeInt16: Encode = (w, v) => {
  if (typeof v !== 'number' || ((v << 16) >> 16) !== v) badValue(w, 'n', v, 'need an integer -32768..32767');
  w.align(2, 2);
  w.dv.setInt16(w.pos, v, w.le);
  w.pos += 2;
};

const encodeUint16: Encode = (w, v) => {
  if (typeof v !== 'number' || (v & 0xffff) !== v) badValue(w, 'q', v, 'need an integer 0..65535');
  w.align(2, 2);
  w.dv.setUint16(w.pos, v, w.le);
  w.pos += 2;
};

const encodeInt32: Encode = (w, v) => {
  if (typeof v !== 'number' || (v | 0) !== v) badValue(w, 'i', v, 'need a 32-bit signed integer');
  w.align(4, 4);
  w.dv.setInt32(w.pos, v, w.le);
  w.pos += 4;
};

const encodeUint32: Encode = (w, v) => {
  if (typeof v !== 'number' || v >>> 0 !== v) badValue(w, 'u', v, 'need a 32-bit unsigned integer');
  w.align(4, 4);
  w.dv.setUint32(w.pos, v, w.le);
  w.pos += 4;
};

const encodeFd: Encode = (w, v) => {
  if (typeof v !== 'number' || v >>> 0 !== v) badValue(w, 'h', v, 'need an fd index (unsigned integer)');
  if (v >= w.fdLimit) w.fail('bad-fd-index', `fd index ${v} is not below the message's UNIX_FDS (${w.fdLimit})`);
  w.align(4, 4);
  w.dv.setUint32(w.pos, v, w.le);
  w.pos += 4;
};

/** Numbers avoid a BigInt allocation: split into two 32-bit halves. */
function write64FromNumber(w: Writer, v: number): void {
  const hi = Math.floor(v / TWO_32);
  const lo = v - hi * TWO_32;
  const dv = w.dv;
  if (w.le) {
    dv.setUint32(w.pos, lo, true);
    dv.setInt32(w.pos + 4, hi | 0, true);
  } else {
    dv.setInt32(w.pos, hi | 0, false);
    dv.setUint32(w.pos + 4, lo, false);
  }
  w.pos += 8;
}

const encodeInt64: Encode = (w, v) => {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) badValue(w, 'x', v, 'a number must be a safe integer; use a bigint');
    w.align(8, 8);
    write64FromNumber(w, v);
    return;
  }
  if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) badValue(w, 'x', v, 'need a 64-bit signed integer');
  w.align(8, 8);
  w.dv.setBigInt64(w.pos, v, w.le);
  w.pos += 8;
};

const encodeUint64: Encode = (w, v) => {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) badValue(w, 't', v, 'a number must be a non-negative safe integer; use a bigint');
    w.align(8, 8);
    write64FromNumber(w, v);
    return;
  }
  if (typeof v !== 'bigint' || v < 0n || v > UINT64_MAX) badValue(w, 't', v, 'need a 64-bit unsigned integer');
  w.align(8, 8);
  w.dv.setBigUint64(w.pos, v, w.le);
  w.pos += 8;
};

const encodeDouble: Encode = (w, v) => {
  if (typeof v !== 'number') badValue(w, 'd', v, 'need a number');
  w.align(8, 8);
  w.dv.setFloat64(w.pos, v, w.le);
  w.pos += 8;
};

const encodeString: Encode = (w, v) => {
  if (typeof v !== 'string') badValue(w, 's', v, 'need a string');
  writeString(w, v);
};

const encodeObjectPath: Encode = (w, v) => {
  if (!isValidObjectPath(v)) {
    if (typeof v !== 'string') badValue(w, 'o', v, 'need a string');
    w.fail('bad-object-path', `invalid object path ${show(v)}`);
  }
  writeString(w, v as string);
};

const encodeSignatureValue: Encode = (w, v) => {
  if (typeof v !== 'string') badValue(w, 'g', v, 'need a string');
  rethrowAt(w, () => parseSignature(v));
  writeSignature(w, v);
};

/** Re-raises a WireError from validation with the writer's offset attached. */
function rethrowAt<T>(w: Writer, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const err = e as { rule?: string; message?: string };
    if (typeof err.rule === 'string') w.fail(err.rule, String(err.message));
    throw e;
  }
}

const BASIC: Record<string, Encode> = {
  y: encodeByte, b: encodeBoolean, n: encodeInt16, q: encodeUint16, i: encodeInt32, u: encodeUint32,
  x: encodeInt64, t: encodeUint64, d: encodeDouble, s: encodeString, o: encodeObjectPath,
  g: encodeSignatureValue, h: encodeFd,
};

/** Is `v` a variant: ours, dbus-next's, or any { signature, value } object. */
function asVariant(v: unknown): Variant | undefined {
  if (v instanceof Variant) return v;
  if (v !== null && typeof v === 'object' && typeof (v as Variant).signature === 'string' && 'value' in v) {
    return v as Variant;
  }
  return undefined;
}

function compileVariant(staticDepth: number): Encode {
  return (w, v) => {
    const variant = asVariant(v);
    if (variant === undefined) return badValue(w, 'v', v, 'need a Variant');
    const inner = rethrowAt(w, () => variantEncoder(variant.signature));
    const base = w.depth;
    const level = base + staticDepth + 1;
    if (level + inner.node.depth > MAX_TOTAL_DEPTH) {
      w.fail('too-deep', `value nests more than ${MAX_TOTAL_DEPTH} containers`);
    }
    writeSignature(w, variant.signature);
    w.depth = level;
    inner.codec(w, variant.value);
    w.depth = base;
  };
}

/** Dict keys arrive as object property names (strings); turn them back into the key type. */
function keyFromString(type: string): (k: string) => unknown {
  switch (type) {
    case 's':
    case 'o':
    case 'g':
      return (k) => k;
    case 'x':
    case 't':
      return (k) => {
        try {
          return BigInt(k);
        } catch {
          return k;
        }
      };
    case 'b':
      return (k) => (k === 'true' || k === '1' ? true : k === 'false' || k === '0' ? false : k);
    default:
      return (k) => (k.trim() === '' ? k : Number(k));
  }
}

function compileArray(node: SignatureNode, staticDepth: number): Encode {
  const elem = node.child[0]!;
  const ea = elem.align;
  if (elem.type === 'y') {
    return (w, v) => {
      w.align(4, 4);
      const lenPos = w.pos;
      w.pos += 4;
      if (v instanceof Uint8Array) {
        const n = v.length;
        if (n > MAX_ARRAY_LENGTH) w.fail('too-long', `array of ${n} bytes is over the 64 MiB limit`);
        w.ensure(n);
        w.buf.set(v, w.pos);
        w.pos += n;
      } else if (Array.isArray(v)) {
        if (v.length > MAX_ARRAY_LENGTH) w.fail('too-long', `array of ${v.length} bytes is over the 64 MiB limit`);
        w.ensure(v.length);
        for (let i = 0; i < v.length; i++) encodeByte(w, v[i]);
      } else {
        badValue(w, 'ay', v, 'need a Buffer, Uint8Array or array of numbers');
      }
      w.dv.setUint32(lenPos, w.pos - lenPos - 4, w.le);
    };
  }
  if (elem.type === '{') {
    const keyNode = elem.child[0]!;
    const encKey = BASIC[keyNode.type]!;
    const toKey = keyFromString(keyNode.type);
    const encVal = compile(elem.child[1]!, staticDepth + 2);
    return (w, v) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        return badValue(w, node.signature, v, 'need a plain object or a Map');
      }
      w.align(4, 4);
      const lenPos = w.pos;
      w.pos += 4;
      w.align(8, 0);
      const start = w.pos;
      if (v instanceof Map) {
        for (const [k, val] of v) {
          w.align(8, 0);
          encKey(w, k);
          encVal(w, val);
        }
      } else {
        const obj = v as Record<string, unknown>;
        for (const k of Object.keys(obj)) {
          w.align(8, 0);
          encKey(w, toKey(k));
          encVal(w, obj[k]);
        }
      }
      const len = w.pos - start;
      if (len > MAX_ARRAY_LENGTH) w.fail('too-long', `array of ${len} bytes is over the 64 MiB limit`);
      w.dv.setUint32(lenPos, len, w.le);
    };
  }
  const encElem = compile(elem, staticDepth + 1);
  return (w, v) => {
    if (!Array.isArray(v)) return badValue(w, node.signature, v, 'need an array');
    w.align(4, 4);
    const lenPos = w.pos;
    w.pos += 4;
    w.align(ea, 0);
    const start = w.pos;
    for (let i = 0; i < v.length; i++) encElem(w, v[i]);
    const len = w.pos - start;
    if (len > MAX_ARRAY_LENGTH) w.fail('too-long', `array of ${len} bytes is over the 64 MiB limit`);
    w.dv.setUint32(lenPos, len, w.le);
  };
}

function compileStruct(node: SignatureNode, staticDepth: number): Encode {
  const fields = node.child.map((c) => compile(c, staticDepth + 1));
  const n = fields.length;
  return (w, v) => {
    if (!Array.isArray(v) || v.length !== n) {
      return badValue(w, node.signature, v, `need an array of ${n} fields`);
    }
    w.align(8, 0);
    for (let i = 0; i < n; i++) fields[i]!(w, v[i]);
  };
}

/** Compiles one complete type found `staticDepth` containers deep in its signature. */
const compile = compiler<Encode>({ basic: BASIC, array: compileArray, struct: compileStruct, variant: compileVariant });

const cache = new CodecCache<Encode>(compile);

/** Encoders for each complete type of a body signature (validated, compiled once, cached). */
export function bodyEncoders(signature: string): Encode[] {
  return cache.body(signature);
}

/** Encoder for a variant's contents, which must be one complete type. */
export function variantEncoder(signature: string): CompiledType<Encode> {
  return cache.single(signature);
}

/** Throws WireError('bad-value') unless `body` is an array with one value per complete type of `signature`. */
export function checkBody(signature: string, body: unknown, encoders: Encode[]): asserts body is unknown[] {
  if (!Array.isArray(body) || body.length !== encoders.length) {
    throw new WireError('bad-value', `signature '${signature}' needs ${encoders.length} body values, got ${Array.isArray(body) ? body.length : typeof body}`);
  }
}
