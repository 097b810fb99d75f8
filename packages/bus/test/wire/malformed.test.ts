// Malformed-message corpus: each broken input is rejected with a WireError naming the rule it breaks.
import { describe, expect, it } from 'vitest';
import {
  decodeMessage, decodeMessageAt, encodeMessage, isValidSignature, marshal, messageByteLength, parseSignature, unmarshal, Variant, WireError, type Message,
} from '../../src/wire/index.js';

type Field = [code: number, sig: string, value: unknown];

/** Builds message bytes field by field, so a test can write what encodeMessage would refuse. */
function raw(o: {
  endian?: 'little' | 'big'; type?: number; flags?: number; version?: number; serial?: number;
  fields: Field[]; body?: Buffer; bodyLen?: number;
}): Buffer {
  const endian = o.endian ?? 'little';
  const body = o.body ?? Buffer.alloc(0);
  const head = marshal('yyyyuua(yv)', [
    endian === 'little' ? 0x6c : 0x42, o.type ?? 4, o.flags ?? 0, o.version ?? 1, o.bodyLen ?? body.length, o.serial ?? 1,
    o.fields.map(([c, s, v]) => [c, new Variant(s, v)]),
  ], { endian });
  const padded = Buffer.concat([head, Buffer.alloc((8 - (head.length % 8)) % 8)]);
  return Buffer.concat([padded, body]);
}

const signal: Field[] = [[1, 'o', '/a'], [2, 's', 'a.b'], [3, 's', 'M']];
const withBody = (sig: string, body: Buffer, extra: Field[] = []): Buffer => raw({ fields: [...signal, [8, 'g', sig], ...extra], body });
const headerLen = (b: Buffer) => b.length - b.readUInt32LE(4);

/** Asserts `f` throws a WireError with this rule (and only that). */
function rejects(f: () => unknown, rule: string): WireError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected WireError '${rule}'`).toBeInstanceOf(WireError);
  const err = caught as WireError;
  expect(err.rule).toBe(rule);
  expect(typeof err.offset).toBe('number');
  expect(err.message).toContain(rule);
  return err;
}

const valid = withBody('sbi', marshal('sbi', ['hello', true, 7], { offset: 0 }));

describe('malformed messages', () => {
  it('the reference message is valid', () => {
    expect(decodeMessage(valid).body).toEqual(['hello', true, 7]);
  });

  it('truncated: every proper prefix is rejected', () => {
    for (let n = 0; n < valid.length; n++) {
      rejects(() => decodeMessage(valid.subarray(0, n)), 'truncated');
    }
  });

  it('trailing bytes after the message', () => {
    rejects(() => decodeMessage(Buffer.concat([valid, Buffer.from([0])])), 'trailing-bytes');
  });

  it('a message inside a larger block decodes in place, its range checked like a whole input', () => {
    // 3 bytes before (the message's alignment counts from its own start) and 5 after.
    const block = Buffer.concat([Buffer.from([1, 2, 3]), valid, Buffer.alloc(5, 0xff)]);
    expect(decodeMessageAt(block, 3, valid.length)).toEqual(decodeMessage(valid));
    rejects(() => decodeMessageAt(block, 3, valid.length - 1), 'truncated');
    rejects(() => decodeMessageAt(block, 3, 10), 'truncated');
    rejects(() => decodeMessageAt(block, 3, valid.length + 1), 'trailing-bytes');
    rejects(() => decodeMessageAt(block, 2, valid.length), 'bad-endian');
    expect(() => decodeMessageAt(block, 4, block.length)).toThrow(RangeError);
  });

  it('bad padding in the header and in the body', () => {
    // Header: the byte after MEMBER's NUL, before the 8-aligned SIGNATURE field.
    const h = Buffer.from(valid);
    const memberEnd = h.indexOf(Buffer.from('M\0')) + 2;
    h[memberEnd] = 1;
    rejects(() => decodeMessage(h), 'bad-padding');
    // Header end: padding between the fields array and the body.
    const m = withBody('y', Buffer.from([5]));
    const fieldsEnd = 16 + m.readUInt32LE(12);
    expect(fieldsEnd % 8).not.toBe(0);
    const mm = Buffer.from(m);
    mm[fieldsEnd] = 9;
    rejects(() => decodeMessage(mm), 'bad-padding');
    // Body: 'yi' has three padding bytes after the byte.
    const b = withBody('yi', marshal('yi', [1, 2]));
    b[headerLen(b) + 2] = 0xff;
    rejects(() => decodeMessage(b), 'bad-padding');
  });

  it('bad boolean', () => {
    const b = withBody('b', Buffer.from([2, 0, 0, 0]));
    const e = rejects(() => decodeMessage(b), 'bad-boolean');
    expect(e.offset).toBe(headerLen(b));
  });

  it('bad UTF-8: invalid byte, overlong form, surrogate, truncated sequence', () => {
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x61, 0xe2, 0x82]]) {
      const s = Buffer.from(bad);
      const body = Buffer.concat([Buffer.from([s.length, 0, 0, 0]), s, Buffer.from([0])]);
      rejects(() => decodeMessage(withBody('s', body)), 'bad-utf8');
    }
    // A long string (past the intern cache) too, and a valid U+FFFD is accepted.
    const long = Buffer.concat([Buffer.from('x'.repeat(100)), Buffer.from([0xfe])]);
    rejects(() => unmarshal('s', Buffer.concat([Buffer.from([long.length, 0, 0, 0]), long, Buffer.from([0])])), 'bad-utf8');
    expect(unmarshal('s', marshal('s', ['ok \uFFFD']))).toEqual(['ok \uFFFD']);
  });

  it('embedded NUL and missing NUL terminator', () => {
    rejects(() => decodeMessage(withBody('s', Buffer.from([3, 0, 0, 0, 0x61, 0, 0x62, 0]))), 'embedded-nul');
    rejects(() => decodeMessage(withBody('s', Buffer.from([2, 0, 0, 0, 0x61, 0x62, 0x63]))), 'missing-nul');
    rejects(() => encodeMessage({ type: 4, flags: 0, serial: 1, path: '/a', interface: 'a.b', member: 'M', signature: 's', body: ['a\0b'] }), 'embedded-nul');
    // A lone surrogate has no UTF-8 form: refused rather than silently replaced.
    rejects(() => marshal('s', ['x\uD800y']), 'bad-utf8');
    rejects(() => marshal('as', [['ok', '\uDC00']]), 'bad-utf8');
    expect(unmarshal('s', marshal('s', ['𝄞 pair']))).toEqual(['𝄞 pair']);
  });

  it('too deep: 65 nested variants, 33 nested arrays or structs', () => {
    const nest = (k: number) => Buffer.concat([...Array.from({ length: k - 1 }, () => Buffer.from([1, 0x76, 0])), Buffer.from([1, 0x79, 0, 42])]);
    let expected: Variant = new Variant('y', 42);
    for (let i = 1; i < 64; i++) expected = new Variant('v', expected);
    expect(decodeMessage(withBody('v', nest(64))).body).toEqual([expected]);
    rejects(() => decodeMessage(withBody('v', nest(65))), 'too-deep');
    rejects(() => parseSignature('a'.repeat(33) + 'y'), 'too-deep');
    rejects(() => parseSignature('('.repeat(33) + 'y' + ')'.repeat(33)), 'too-deep');
    expect(parseSignature('a'.repeat(32) + 'y')).toHaveLength(1);
    // Within the per-kind limits but 65 containers in all: a valid signature no body can have.
    const wide = 'a{s'.repeat(20) + '('.repeat(25) + 'y' + ')'.repeat(25) + '}'.repeat(20);
    expect(isValidSignature(wide)).toBe(true);
    rejects(() => marshal(wide, [{}]), 'too-deep');
    rejects(() => decodeMessage(withBody(wide, Buffer.alloc(8))), 'too-deep');
    // A 32-deep signature inside a variant inside 32 arrays is past 64 in total.
    const deepSig = '('.repeat(32) + 'y' + ')'.repeat(32);
    let nested: unknown = [new Variant(deepSig, [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])];
    for (let i = 1; i < 32; i++) nested = [nested];
    rejects(() => marshal('a'.repeat(32) + 'v', [nested]), 'too-deep');
  });

  it('too long: signature over 255, array over 64 MiB, message over 128 MiB', () => {
    rejects(() => parseSignature('y'.repeat(256)), 'too-long');
    rejects(() => encodeMessage({ type: 4, flags: 0, serial: 1, path: '/a', interface: 'a.b', member: 'M', signature: 'y'.repeat(256), body: [] }), 'too-long');
    rejects(() => decodeMessage(withBody('ay', Buffer.from([0, 0, 0, 5, 1, 2, 3, 4]))), 'too-long');
    const huge = Buffer.from(valid);
    huge.writeUInt32LE(128 * 1024 * 1024, 4);
    rejects(() => messageByteLength(huge), 'too-long');
    rejects(() => decodeMessage(huge), 'too-long');
  });

  it('header field with the wrong type', () => {
    rejects(() => decodeMessage(raw({ fields: [[1, 's', '/a'], [2, 's', 'a.b'], [3, 's', 'M']] })), 'bad-field-type');
    rejects(() => decodeMessage(raw({ type: 2, fields: [[5, 'i', 3]] })), 'bad-field-type');
    rejects(() => decodeMessage(raw({ fields: [...signal, [8, 's', 'i']], body: Buffer.alloc(4) })), 'bad-field-type');
    rejects(() => decodeMessage(raw({ fields: [...signal, [9, 'v', new Variant('u', 1)]] })), 'bad-field-type');
  });

  it('unknown header fields are skipped, but must be well formed', () => {
    const ok = raw({ fields: [...signal, [200, 'a{sv}', { x: new Variant('s', 'y') }]] });
    expect(decodeMessage(ok).member).toBe('M');
    const bad = raw({ fields: [...signal, [200, 'b', true]] });
    bad[bad.indexOf(Buffer.from([200, 1, 0x62, 0])) + 4] = 7;
    rejects(() => decodeMessage(bad), 'bad-boolean');
  });

  it('missing required fields for each message type', () => {
    rejects(() => decodeMessage(raw({ type: 1, fields: [[1, 'o', '/a']] })), 'missing-field');
    rejects(() => decodeMessage(raw({ type: 1, fields: [[3, 's', 'M']] })), 'missing-field');
    rejects(() => decodeMessage(raw({ type: 2, fields: [] })), 'missing-field');
    rejects(() => decodeMessage(raw({ type: 3, fields: [[5, 'u', 1]] })), 'missing-field');
    rejects(() => decodeMessage(raw({ type: 3, fields: [[4, 's', 'a.b.Error']] })), 'missing-field');
    rejects(() => decodeMessage(raw({ type: 4, fields: [[1, 'o', '/a'], [3, 's', 'M']] })), 'missing-field');
    rejects(() => decodeMessage(raw({ fields: signal, body: Buffer.from([1, 0, 0, 0]) })), 'missing-field');
    const base: Message = { type: 3, flags: 0, serial: 1, signature: '', body: [], replySerial: 4 };
    rejects(() => encodeMessage(base), 'missing-field');
  });

  it('serial 0, reply serial 0', () => {
    rejects(() => decodeMessage(raw({ serial: 0, fields: signal })), 'bad-serial');
    rejects(() => decodeMessage(raw({ type: 2, fields: [[5, 'u', 0]] })), 'bad-serial');
    rejects(() => encodeMessage({ type: 4, flags: 0, serial: 0, path: '/a', interface: 'a.b', member: 'M', signature: '', body: [] }), 'bad-serial');
  });

  it('length fields pointing past the end', () => {
    rejects(() => decodeMessage(withBody('s', Buffer.from([200, 0, 0, 0, 0x61, 0]))), 'truncated');
    rejects(() => decodeMessage(withBody('ai', Buffer.from([64, 0, 0, 0, 1, 0, 0, 0]))), 'truncated');
    rejects(() => decodeMessage(withBody('g', Buffer.from([9, 0x79, 0]))), 'truncated');
    const longBody = Buffer.from(valid);
    longBody.writeUInt32LE(longBody.readUInt32LE(4) + 8, 4);
    rejects(() => decodeMessage(longBody), 'truncated');
    const longFields = Buffer.from(valid);
    longFields.writeUInt32LE(longFields.readUInt32LE(12) + 64, 12);
    rejects(() => decodeMessage(longFields), 'truncated');
  });

  it('array elements running past the array length', () => {
    rejects(() => decodeMessage(withBody('ai', Buffer.from([2, 0, 0, 0, 1, 0, 0, 0]))), 'bad-array-length');
  });

  it('body bytes left over after the values', () => {
    rejects(() => decodeMessage(withBody('y', Buffer.from([1, 0]))), 'bad-body-length');
  });

  it('bad endian byte, bad version, bad message type', () => {
    const e = Buffer.from(valid);
    e[0] = 0x78;
    rejects(() => decodeMessage(e), 'bad-endian');
    rejects(() => messageByteLength(e), 'bad-endian');
    rejects(() => decodeMessage(raw({ version: 2, fields: signal })), 'bad-version');
    rejects(() => decodeMessage(raw({ type: 0, fields: signal })), 'bad-message-type');
    rejects(() => decodeMessage(raw({ type: 5, fields: signal })), 'bad-message-type');
  });

  it('duplicate and invalid field codes', () => {
    rejects(() => decodeMessage(raw({ fields: [...signal, [3, 's', 'N']] })), 'duplicate-field');
    rejects(() => decodeMessage(raw({ fields: [[0, 's', 'x'], ...signal] })), 'bad-field-code');
  });

  it('names and paths in the header and body', () => {
    rejects(() => decodeMessage(raw({ fields: [[1, 'o', '/a/'], [2, 's', 'a.b'], [3, 's', 'M']] })), 'bad-object-path');
    rejects(() => decodeMessage(raw({ fields: [[1, 'o', '/a'], [2, 's', 'ab'], [3, 's', 'M']] })), 'bad-name');
    rejects(() => decodeMessage(raw({ fields: [[1, 'o', '/a'], [2, 's', 'a.b'], [3, 's', '1M']] })), 'bad-name');
    rejects(() => decodeMessage(raw({ fields: [...signal, [6, 's', 'no']] })), 'bad-name');
    rejects(() => decodeMessage(raw({ fields: [...signal, [7, 's', ':']] })), 'bad-name');
    rejects(() => decodeMessage(raw({ type: 3, fields: [[4, 's', 'Err'], [5, 'u', 1]] })), 'bad-name');
    rejects(() => decodeMessage(withBody('o', marshal('s', ['//x']))), 'bad-object-path');
    rejects(() => encodeMessage({ type: 4, flags: 0, serial: 1, path: 'a', interface: 'a.b', member: 'M', signature: '', body: [] }), 'bad-object-path');
  });

  it('bad signatures: in the header, in a variant, in a g value', () => {
    rejects(() => decodeMessage(withBody('a{vs}', Buffer.alloc(8))), 'bad-signature');
    rejects(() => decodeMessage(withBody('v', Buffer.from([2, 0x69, 0x69, 0, 0, 0, 0, 0]))), 'bad-signature');
    rejects(() => decodeMessage(withBody('v', Buffer.from([0, 0]))), 'bad-signature');
    rejects(() => decodeMessage(withBody('g', Buffer.from([1, 0x7a, 0]))), 'bad-signature');
    for (const s of ['a', '(', '()', ')', '{sv}', 'a{s}', 'a{svv}', 'a{(i)s}', '(i', 'ii)', 'z']) rejects(() => parseSignature(s), 'bad-signature');
  });

  it("'h' at or past UNIX_FDS", () => {
    rejects(() => decodeMessage(withBody('h', Buffer.from([0, 0, 0, 0]))), 'bad-fd-index');
    expect(decodeMessage(withBody('h', Buffer.from([1, 0, 0, 0]), [[9, 'u', 2]])).body).toEqual([1]);
    rejects(() => decodeMessage(withBody('h', Buffer.from([2, 0, 0, 0]), [[9, 'u', 2]])), 'bad-fd-index');
    rejects(() => encodeMessage({ type: 4, flags: 0, serial: 1, path: '/a', interface: 'a.b', member: 'M', signature: 'h', body: [0] }), 'bad-fd-index');
  });

  it('values that do not fit their type are refused on encode', () => {
    const cases: [string, unknown][] = [['y', 256], ['y', -1], ['n', 40000], ['q', -1], ['i', 2 ** 31], ['u', -1], ['u', 1.5],
      ['x', 2n ** 63n], ['t', -1n], ['x', 2 ** 60], ['d', '1'], ['b', 'yes'], ['s', 5], ['ai', 'x'], ['(ii)', [1]], ['a{sv}', [1]],
      ['v', 5], ['ay', 'str'], ['g', 'a'], ['o', 7]];
    for (const [sig, v] of cases) rejects(() => marshal(sig, [v]), sig === 'g' ? 'bad-signature' : 'bad-value');
    rejects(() => marshal('ii', [1]), 'bad-value');
  });
});
