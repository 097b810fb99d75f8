// Type signatures: parsing into a tree, validation against the spec's rules, and a bounded cache.
import { BoundedCache } from './bounded-cache.js';
import { WireError } from './errors.js';
import { MAX_ARRAY_DEPTH, MAX_SIGNATURE_LENGTH, MAX_STRUCT_DEPTH, MAX_TOTAL_DEPTH } from './limits.js';

/** One complete type. `child` holds an array's element, a struct's fields or a dict entry's key and value. */
export interface SignatureNode {
  /** Type code: y b n q i u x t d s o g h v a ( {. */
  type: string;
  child: SignatureNode[];
  /** The text of this complete type, e.g. 'a{sv}'. */
  signature: string;
  /** Alignment of this type's marshalled form (1, 2, 4 or 8). */
  align: number;
  /** Containers this type nests, itself included (0 for a basic type; a variant counts 1). */
  depth: number;
}

const ALIGN: Record<string, number> = {
  y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, s: 4, o: 4, g: 1, h: 4, v: 1, a: 4, '(': 8, '{': 8,
};

/** Basic types: the only ones allowed as dict keys. */
export const BASIC_TYPES = 'ybnqiuxtdsogh';

/** Parses a signature (any number of complete types) or throws WireError('bad-signature' | 'too-long' | 'too-deep'). */
export function parseSignature(sig: string): SignatureNode[] {
  const cached = cache.get(sig);
  if (cached !== undefined) return cached;
  const nodes = parseUncached(sig);
  cache.set(sig, nodes);
  return nodes;
}

/** Parses a signature that must be exactly one complete type (variant contents, dict values...). */
export function parseSingleType(sig: string): SignatureNode {
  const nodes = parseSignature(sig);
  if (nodes.length !== 1) {
    throw new WireError('bad-signature', `signature '${sig}' is not one single complete type`);
  }
  return nodes[0]!;
}

export function isValidSignature(sig: string): boolean {
  try {
    parseSignature(sig);
    return true;
  } catch (e) {
    if (e instanceof WireError) return false;
    throw e;
  }
}

/** Throws WireError unless `sig` is a valid signature. */
export function validateSignature(sig: string): void {
  parseSignature(sig);
}

/**
 * Values are in at most 64 containers (arrays, structs, dict entries,
 * variants) in all. A signature within the per-kind limits can still nest
 * deeper than that (32 arrays of dict entries around 32 structs), and such a
 * body can never be marshalled, so it is refused before any value is read.
 */
export function checkTotalDepth(nodes: SignatureNode[], sig: string): void {
  for (const n of nodes) {
    if (n.depth > MAX_TOTAL_DEPTH) {
      throw new WireError('too-deep', `signature '${sig}' nests ${n.depth} containers, more than ${MAX_TOTAL_DEPTH}`);
    }
  }
}

// Bounded: signatures arrive from the network inside variants.
const cache = new BoundedCache<SignatureNode[]>();

function parseUncached(sig: string): SignatureNode[] {
  if (typeof sig !== 'string') throw new WireError('bad-signature', 'signature is not a string');
  if (sig.length > MAX_SIGNATURE_LENGTH) {
    throw new WireError('too-long', `signature is ${sig.length} bytes, more than ${MAX_SIGNATURE_LENGTH}`);
  }
  let pos = 0;
  let arrayDepth = 0;
  let structDepth = 0;
  // Dict entries are counted on their own, as libdbus does; arrays bound them anyway.
  let dictDepth = 0;

  const bad = (why: string): never => {
    throw new WireError('bad-signature', `bad signature '${sig}': ${why} at character ${pos}`);
  };

  const one = (): SignatureNode => {
    if (pos >= sig.length) bad('unexpected end');
    const c = sig[pos++]!;
    switch (c) {
      case 'a': {
        if (++arrayDepth > MAX_ARRAY_DEPTH) {
          throw new WireError('too-deep', `signature '${sig}' nests more than ${MAX_ARRAY_DEPTH} arrays`);
        }
        let elem: SignatureNode;
        if (sig[pos] === '{') {
          pos++;
          elem = dictEntry();
        } else {
          elem = one();
        }
        arrayDepth--;
        return node('a', [elem], 'a' + elem.signature, 1 + elem.depth);
      }
      case '(': {
        if (++structDepth > MAX_STRUCT_DEPTH) {
          throw new WireError('too-deep', `signature '${sig}' nests more than ${MAX_STRUCT_DEPTH} structs`);
        }
        const fields: SignatureNode[] = [];
        while (sig[pos] !== ')') {
          if (pos >= sig.length) bad('unclosed struct');
          fields.push(one());
        }
        pos++;
        if (fields.length === 0) bad('empty struct');
        structDepth--;
        return node('(', fields, '(' + fields.map((f) => f.signature).join('') + ')', 1 + maxDepth(fields));
      }
      case '{':
        return bad('dict entry outside an array');
      case ')':
      case '}':
        return bad(`unexpected '${c}'`);
      case 'v':
        return node('v', [], 'v', 1);
      default:
        if (BASIC_TYPES.includes(c)) return node(c, [], c, 0);
        return bad(`unknown type code '${c}'`);
    }
  };

  const dictEntry = (): SignatureNode => {
    if (++dictDepth > MAX_ARRAY_DEPTH) {
      throw new WireError('too-deep', `signature '${sig}' nests more than ${MAX_ARRAY_DEPTH} dict entries`);
    }
    if (pos >= sig.length) bad('unexpected end');
    if (!BASIC_TYPES.includes(sig[pos]!)) bad('dict key must be a basic type');
    const key = one();
    if (sig[pos] === '}' || pos >= sig.length) bad('dict entry needs a key and a value');
    const value = one();
    if (sig[pos] !== '}') bad('dict entry must hold exactly two types');
    pos++;
    dictDepth--;
    return node('{', [key, value], '{' + key.signature + value.signature + '}', 1 + Math.max(key.depth, value.depth));
  };

  const out: SignatureNode[] = [];
  while (pos < sig.length) out.push(one());
  return out;
}

function node(type: string, child: SignatureNode[], signature: string, depth: number): SignatureNode {
  return { type, child, signature, align: ALIGN[type]!, depth };
}

function maxDepth(nodes: SignatureNode[]): number {
  let d = 0;
  for (const n of nodes) if (n.depth > d) d = n.depth;
  return d;
}
