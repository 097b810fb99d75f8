// Test helpers for the wire layer: dbus-next's internal codec as an oracle, and fast-check arbitraries for signatures and values.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { parseSignature, Variant, type SignatureNode } from '../../src/wire/index.js';

const require = createRequire(import.meta.url);

/** dbus-next 0.10's own marshaller and parser, used as the reference implementation. */
interface DbusNextInternals {
  marshallMessage(msg: Record<string, unknown>): [Buffer, unknown[]];
  messageToJsFmt(msg: Record<string, unknown>): Record<string, unknown>;
  unmarshall(buf: Buffer): Record<string, unknown>;
  Variant: new (signature: string, value: unknown) => { signature: string; value: unknown };
}

const compat = require('dbus-next/lib/marshall-compat.js') as Pick<DbusNextInternals, 'marshallMessage' | 'messageToJsFmt'>;
const message = require('dbus-next/lib/message.js') as Pick<DbusNextInternals, 'unmarshall'>;
const variant = require('dbus-next/lib/variant.js') as Pick<DbusNextInternals, 'Variant'>;

export const dbusNext: DbusNextInternals = {
  marshallMessage: compat.marshallMessage,
  messageToJsFmt: compat.messageToJsFmt,
  unmarshall: message.unmarshall,
  Variant: variant.Variant,
};

/** Rewrites our Variants into dbus-next's, which its marshaller recognises by constructor. */
export function toDbusNextValue(v: unknown): unknown {
  if (v instanceof Variant) return new dbusNext.Variant(v.signature, toDbusNextValue(v.value));
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(toDbusNextValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = toDbusNextValue((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** dbus-next's marshalled bytes for a message in our shape. */
export function dbusNextEncode(msg: Record<string, unknown>): Buffer {
  const body = Array.isArray(msg.body) ? msg.body.map(toDbusNextValue) : msg.body;
  const copy: Record<string, unknown> = { ...msg, body };
  if (msg.unixFds !== undefined) delete copy.unixFds;
  return dbusNext.marshallMessage(copy)[0];
}

/** dbus-next's reading of whole-message bytes (it needs a body). */
export function dbusNextDecode(bytes: Buffer): Record<string, unknown> {
  return dbusNext.messageToJsFmt(dbusNext.unmarshall(bytes));
}

// ---- arbitraries ---------------------------------------------------------

export interface GenOptions {
  /** Only what dbus-next can marshal: no 'h', string-like dict keys, finite doubles, no x/t. */
  dbusNextSafe?: boolean;
  /** Leave out 'x' and 't' (dbus-next reads them wrongly in big-endian). */
  no64?: boolean;
  /** Leave out 'h'. */
  noFd?: boolean;
}

function basicCodes(o: GenOptions): string[] {
  let codes = ['y', 'b', 'n', 'q', 'i', 'u', 'x', 't', 'd', 's', 'o', 'g', 'h'];
  if (o.dbusNextSafe || o.noFd) codes = codes.filter((c) => c !== 'h');
  if (o.no64) codes = codes.filter((c) => c !== 'x' && c !== 't');
  return codes;
}

/** One complete type, as signature text. */
export function typeArb(o: GenOptions = {}, allowVariant = true): fc.Arbitrary<string> {
  const basic = fc.constantFrom(...basicCodes(o));
  const keyCodes = o.dbusNextSafe ? ['s', 'o'] : basicCodes(o);
  const key = fc.constantFrom(...keyCodes);
  const { t } = fc.letrec<{ t: string; arr: string; struct: string; dict: string }>((tie) => ({
    t: fc.oneof(
      { maxDepth: 3, depthSize: 'small', withCrossShrink: true },
      basic,
      ...(allowVariant ? [fc.constant('v')] : []),
      tie('arr'),
      tie('struct'),
      tie('dict'),
    ),
    arr: tie('t').map((x) => 'a' + x),
    struct: fc.array(tie('t'), { minLength: 1, maxLength: 4 }).map((xs) => '(' + xs.join('') + ')'),
    dict: fc.tuple(key, tie('t')).map(([k, v]) => `a{${k}${v}}`),
  }));
  return t;
}

/** A whole body signature (0..4 complete types). */
export function signatureArb(o: GenOptions = {}): fc.Arbitrary<string> {
  return fc
    .array(typeArb(o), { maxLength: 4 })
    .map((xs) => xs.join(''))
    .filter((s) => s.length <= 255);
}

const segment = fc.stringMatching(/^[A-Za-z0-9_]{1,8}$/);
export const objectPathArb = fc.array(segment, { maxLength: 4 }).map((xs) => '/' + xs.join('/'));
const stringArb = fc.string({ unit: 'binary', maxLength: 24 }).filter((s) => !s.includes('\0') && s !== '__proto__');

/** A value of the given complete type. */
export function valueArb(node: SignatureNode, o: GenOptions = {}, fds = 8): fc.Arbitrary<unknown> {
  switch (node.type) {
    case 'y':
      return fc.integer({ min: 0, max: 255 });
    case 'b':
      return fc.boolean();
    case 'n':
      return fc.integer({ min: -32768, max: 32767 });
    case 'q':
      return fc.integer({ min: 0, max: 65535 });
    case 'i':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'u':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'x':
      // dbus-next refuses -2^63 (its minimum constant is off by one), so the oracle range starts one above.
      return fc.bigInt(o.dbusNextSafe ? -(2n ** 63n) + 1n : -(2n ** 63n), 2n ** 63n - 1n);
    case 't':
      return fc.bigInt(0n, 2n ** 64n - 1n);
    case 'd':
      // dbus-next writes -0 as +0 (it goes through parseFloat(String(x))); we keep the sign.
      return o.dbusNextSafe ? fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)) : fc.double();
    case 's':
      return stringArb;
    case 'o':
      return objectPathArb;
    case 'g':
      return signatureArb({ ...o, noFd: true }).filter((s) => s.length <= 40);
    case 'h':
      return fc.integer({ min: 0, max: fds - 1 });
    case 'v':
      return typeArb({ ...o }, false).chain((sig) =>
        valueArb(parseSignature(sig)[0]!, o, fds).map((v) => new Variant(sig, v)),
      );
    case '(':
      return fc.tuple(...node.child.map((c) => valueArb(c, o, fds)));
    case 'a': {
      const elem = node.child[0]!;
      if (elem.type === 'y') return fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a));
      if (elem.type === '{') {
        const [k, v] = elem.child as [SignatureNode, SignatureNode];
        return fc
          .array(fc.tuple(valueArb(k, o, fds).map((x) => String(x)), valueArb(v, o, fds)), { maxLength: 4 })
          .map((entries) => {
            const obj: Record<string, unknown> = {};
            for (const [kk, vv] of entries) if (kk !== '__proto__') obj[kk] = vv;
            return obj;
          });
      }
      return fc.array(valueArb(elem, o, fds), { maxLength: 4 });
    }
    default:
      throw new Error(`no arbitrary for '${node.type}'`);
  }
}

/** A signature with matching body values. */
export function bodyArb(o: GenOptions = {}, fds = 8): fc.Arbitrary<{ signature: string; body: unknown[] }> {
  return signatureArb(o).chain((signature) =>
    fc.tuple(...parseSignature(signature).map((n) => valueArb(n, o, fds))).map((body) => ({ signature, body: body as unknown[] })),
  );
}
