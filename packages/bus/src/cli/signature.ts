// A small D-Bus signature parser for the CLI: turns "a{sv}(ii)" into type trees
// so command-line words can be converted to typed values and values printed back.
import { UsageError } from './errors.js';

export interface SigType {
  /** The type code: a basic code, 'a', 'v', '(' for structs or '{' for dict entries. */
  code: string;
  /** Element type of an array, fields of a struct, key and value of a dict entry. */
  children: SigType[];
  /** The exact signature text of this single complete type. */
  text: string;
}

const BASIC = 'ybnqiuxtdsogh';

/** Parse a whole signature into its complete types; throws UsageError when malformed. */
export function parseSignature(sig: string): SigType[] {
  const out: SigType[] = [];
  let pos = 0;
  while (pos < sig.length) {
    const [t, next] = parseOne(sig, pos, 0);
    out.push(t);
    pos = next;
  }
  return out;
}

function parseOne(sig: string, start: number, depth: number): [SigType, number] {
  // The spec caps nesting at 32 arrays + 32 structs; 64 total is a fair guard here.
  if (depth > 64) throw new UsageError(`signature '${sig}' nests too deeply`);
  const c = sig[start];
  if (c === undefined) throw new UsageError(`signature '${sig}' ends early`);
  if (BASIC.includes(c) || c === 'v') {
    return [{ code: c, children: [], text: c }, start + 1];
  }
  if (c === 'a') {
    const [elem, next] = parseOne(sig, start + 1, depth + 1);
    return [{ code: 'a', children: [elem], text: sig.slice(start, next) }, next];
  }
  if (c === '(') {
    const fields: SigType[] = [];
    let pos = start + 1;
    while (sig[pos] !== ')') {
      if (pos >= sig.length) throw new UsageError(`signature '${sig}': unclosed '('`);
      const [f, next] = parseOne(sig, pos, depth + 1);
      fields.push(f);
      pos = next;
    }
    if (fields.length === 0) throw new UsageError(`signature '${sig}': empty struct`);
    return [{ code: '(', children: fields, text: sig.slice(start, pos + 1) }, pos + 1];
  }
  if (c === '{') {
    const [key, afterKey] = parseOne(sig, start + 1, depth + 1);
    if (!BASIC.includes(key.code)) throw new UsageError(`signature '${sig}': dict key must be a basic type`);
    const [val, afterVal] = parseOne(sig, afterKey, depth + 1);
    if (sig[afterVal] !== '}') throw new UsageError(`signature '${sig}': dict entry needs exactly two types`);
    return [{ code: '{', children: [key, val], text: sig.slice(start, afterVal + 1) }, afterVal + 1];
  }
  throw new UsageError(`signature '${sig}': unexpected '${c}' at ${start}`);
}
