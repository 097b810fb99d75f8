// Decoder compiler: turns a signature tree into closures that unmarshal and validate, cached per signature.
import { WireError } from './errors.js';
import { MAX_ARRAY_LENGTH, MAX_TOTAL_DEPTH } from './limits.js';
import { isValidObjectPath } from './names.js';
import type { Reader } from './reader.js';
import { CodecCache, compiler, type CompiledType } from './codec-cache.js';
import { parseSignature, type SignatureNode } from './signature.js';
import { Variant } from './variant.js';

/** Reads one value of a fixed type at the reader's cursor. */
export type Decode = (r: Reader) => unknown;

const decodeByte: Decode = (r) => {
  if (r.pos >= r.end) r.truncated(1);
  return r.buf[r.pos++];
};

// The fixed-size readers are written out one per type on purpose: built by
// one shared factory, V8's call to the DataView getter inside it is one
// call site for every type (megamorphic), and a(iqxtdbn) decoded at 0.76-0.98x
// in interleaved runs at load 9: too noisy to be sure, not worth it here.

/** Reads a UINT32 (also the length word of strings, and the header fields that are one). */
export function readUint32(r: Reader): number {
  r.align(4, 4);
  const v = r.dv.getUint32(r.pos, r.le);
  r.pos += 4;
  return v;
}

const decodeBoolean: Decode = (r) => {
  const v = readUint32(r);
  if (v > 1) r.fail('bad-boolean', `boolean is ${v}, not 0 or 1`, r.pos - 4);
  return v === 1;
};

const decodeFd: Decode = (r) => {
  const v = readUint32(r);
  if (v >= r.fdLimit) r.fail('bad-fd-index', `fd index ${v} is not below the message's UNIX_FDS (${r.fdLimit})`, r.pos - 4);
  return v;
};

const decodeInt16: Decode = (r) => {
  r.align(2, 2);
  const v = r.dv.getInt16(r.pos, r.le);
  r.pos += 2;
  return v;
};

const decodeUint16: Decode = (r) => {
  r.align(2, 2);
  const v = r.dv.getUint16(r.pos, r.le);
  r.pos += 2;
  return v;
};

const decodeInt32: Decode = (r) => {
  r.align(4, 4);
  const v = r.dv.getInt32(r.pos, r.le);
  r.pos += 4;
  return v;
};

const decodeInt64: Decode = (r) => {
  r.align(8, 8);
  const v = r.dv.getBigInt64(r.pos, r.le);
  r.pos += 8;
  return v;
};

const decodeUint64: Decode = (r) => {
  r.align(8, 8);
  const v = r.dv.getBigUint64(r.pos, r.le);
  r.pos += 8;
  return v;
};

const decodeDouble: Decode = (r) => {
  r.align(8, 8);
  const v = r.dv.getFloat64(r.pos, r.le);
  r.pos += 8;
  return v;
};

/** Reads an 's' (or the text of an 'o'): length word, UTF-8 bytes, NUL. */
export function readString(r: Reader): string {
  return r.string(readUint32(r));
}

const decodeObjectPath: Decode = (r) => {
  const at = r.pos;
  const s = readString(r);
  if (!isValidObjectPath(s)) r.fail('bad-object-path', `invalid object path '${s.slice(0, 80)}'`, at);
  return s;
};

/** Reads a 'g' value and validates it as a signature. */
export function readSignature(r: Reader): string {
  if (r.pos >= r.end) r.truncated(1);
  const at = r.pos;
  const len = r.buf[r.pos++]!;
  const s = r.string(len);
  try {
    parseSignature(s);
  } catch (e) {
    if (e instanceof WireError) r.fail(e.rule, `bad signature value: ${e.message}`, at);
    throw e;
  }
  return s;
}

const BASIC: Record<string, Decode> = {
  y: decodeByte, b: decodeBoolean, n: decodeInt16, q: decodeUint16, i: decodeInt32, u: readUint32,
  x: decodeInt64, t: decodeUint64, d: decodeDouble, s: readString, o: decodeObjectPath,
  g: readSignature, h: decodeFd,
};

function compileVariant(staticDepth: number): Decode {
  return (r) => {
    const at = r.pos;
    const sig = readSignature(r);
    let inner: CompiledType<Decode>;
    try {
      inner = variantDecoder(sig);
    } catch (e) {
      if (e instanceof WireError) r.fail(e.rule, `bad variant signature: ${e.message}`, at);
      throw e;
    }
    const base = r.depth;
    const level = base + staticDepth + 1;
    if (level + inner.node.depth > MAX_TOTAL_DEPTH) {
      r.fail('too-deep', `value nests more than ${MAX_TOTAL_DEPTH} containers`, at);
    }
    r.depth = level;
    const value = inner.codec(r);
    r.depth = base;
    return new Variant(sig, value);
  };
}

/** Reads an array's length and element padding; returns the end of its elements. */
function arrayHeader(r: Reader, elemAlign: number): number {
  r.align(4, 4);
  const at = r.pos;
  const len = r.dv.getUint32(r.pos, r.le);
  if (len > MAX_ARRAY_LENGTH) r.fail('too-long', `array length ${len} is over the 64 MiB limit`);
  r.pos += 4;
  r.align(elemAlign, 0);
  const end = r.pos + len;
  if (end > r.end) r.fail('truncated', `array length ${len} points past the end`, at);
  return end;
}

function overrun(r: Reader, end: number): never {
  return r.fail('bad-array-length', `array element runs ${r.pos - end} bytes past the array's end`);
}

/** Sets a decoded dict entry; '__proto__' is defined as an own property, never as the prototype. */
function setEntry(obj: Record<string, unknown>, key: unknown, value: unknown): void {
  const k = String(key);
  if (k === '__proto__') Object.defineProperty(obj, k, { value, enumerable: true, writable: true, configurable: true });
  else obj[k] = value;
}

function compileArray(node: SignatureNode, staticDepth: number): Decode {
  const elem = node.child[0]!;
  if (elem.type === 'y') {
    return (r) => {
      const end = arrayHeader(r, 1);
      const start = r.pos;
      r.pos = end;
      // A view is free; copying is opt-in for callers that reuse input buffers.
      return r.copyBytes ? Buffer.from(r.buf.subarray(start, end)) : r.buf.subarray(start, end);
    };
  }
  if (elem.type === '{') {
    const decKey = BASIC[elem.child[0]!.type]!;
    const decVal = compile(elem.child[1]!, staticDepth + 2);
    return (r) => {
      const end = arrayHeader(r, 8);
      const out: Record<string, unknown> = {};
      while (r.pos < end) {
        r.align(8, 0);
        const k = decKey(r);
        setEntry(out, k, decVal(r));
      }
      if (r.pos !== end) overrun(r, end);
      return out;
    };
  }
  const ea = elem.align;
  const decElem = compile(elem, staticDepth + 1);
  return (r) => {
    const end = arrayHeader(r, ea);
    const out: unknown[] = [];
    while (r.pos < end) out.push(decElem(r));
    if (r.pos !== end) overrun(r, end);
    return out;
  };
}

function compileStruct(node: SignatureNode, staticDepth: number): Decode {
  const fields = node.child.map((c) => compile(c, staticDepth + 1));
  const n = fields.length;
  return (r) => {
    r.align(8, 0);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = fields[i]!(r);
    return out;
  };
}

/** Compiles one complete type found `staticDepth` containers deep in its signature. */
const compile = compiler<Decode>({ basic: BASIC, array: compileArray, struct: compileStruct, variant: compileVariant });

const cache = new CodecCache<Decode>(compile);

/** Decoders for each complete type of a body signature (validated, compiled once, cached). */
export function bodyDecoders(signature: string): Decode[] {
  return cache.body(signature);
}

/** Decoder for a variant's contents, which must be one complete type. */
export function variantDecoder(signature: string): CompiledType<Decode> {
  return cache.single(signature);
}
