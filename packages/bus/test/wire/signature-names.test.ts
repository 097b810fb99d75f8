// Signature parsing and name validation against the specification's rules, plus big-endian fixtures written by hand.
import { describe, expect, it } from 'vitest';
import {
  isValidBusName, isValidErrorName, isValidInterfaceName, isValidMemberName, isValidObjectPath, isValidSignature,
  marshal, parseSignature, unmarshal, validateBusName, validateInterfaceName, validateMemberName, validateObjectPath,
  validateErrorName, WireError,
} from '../../src/wire/index.js';

describe('signatures', () => {
  it('parses complete types into a tree', () => {
    const [a, b] = parseSignature('a{sv}(ias)');
    expect(a).toMatchObject({ type: 'a', signature: 'a{sv}', align: 4, depth: 3 }); // array, dict entry, variant
    expect(a!.child[0]).toMatchObject({ type: '{', child: [{ type: 's' }, { type: 'v' }] });
    expect(b).toMatchObject({ type: '(', signature: '(ias)', align: 8 });
    expect(b!.child.map((c) => c.signature)).toEqual(['i', 'as']);
    expect(parseSignature('')).toEqual([]);
  });

  it('accepts and refuses as the spec says', () => {
    for (const s of ['', 'y', 'a{sv}', 'aa{s(iv)}', '(((y)))', 'hv', 'a{ya{ss}}', 'x'.repeat(255)]) expect(isValidSignature(s), s).toBe(true);
    for (const s of ['a', 'a{}', 'a{s}', '{ss}', 'a{vs}', '()', '(', ')', 'r', 'm', '*', 'a{sss}', 'x'.repeat(256)]) expect(isValidSignature(s), s).toBe(false);
  });
});

describe('names', () => {
  const table: [string, (s: unknown) => boolean, (s: unknown) => void, string[], string[]][] = [
    ['object path', isValidObjectPath, validateObjectPath, ['/', '/a', '/a/b_1/C'], ['', 'a', '/a/', '//', '/a//b', '/a-b', '/ä']],
    ['interface', isValidInterfaceName, validateInterfaceName, ['a.b', 'org.freedesktop.DBus', '_a.b_1'], ['a', '.a.b', 'a.b.', 'a..b', '1a.b', 'a.1b', 'a-b.c', 'a.' + 'b'.repeat(254)]],
    ['member', isValidMemberName, validateMemberName, ['Hello', '_x', 'a1'], ['', '1a', 'a.b', 'a-b', 'x'.repeat(256)]],
    ['error', isValidErrorName, validateErrorName, ['org.freedesktop.DBus.Error.Failed'], ['Failed', 'a..b']],
    ['bus name', isValidBusName, validateBusName, [':1.42', ':1.18446744073709551615', 'org.example.App', 'a-b.c_d', ':a.1-2'], ['', ':', ':1', 'org', '1org.x', 'org.1x', 'a..b', '.a.b', 'a.b.', 'a.b$']],
  ];
  for (const [what, is, validate, good, bad] of table) {
    it(`${what}s`, () => {
      for (const s of good) {
        expect(is(s), s).toBe(true);
        expect(() => validate(s)).not.toThrow();
      }
      for (const s of bad) {
        expect(is(s), s).toBe(false);
        expect(() => validate(s)).toThrow(WireError);
      }
      expect(is(42)).toBe(false);
    });
  }
});

describe('big-endian fixtures (written by hand from the specification)', () => {
  const cases: [string, unknown[], string][] = [
    ['y', [0xab], 'ab'],
    ['yn', [1, -2], '01 00 fffe'],
    ['yq', [1, 0x1234], '01 00 1234'],
    ['yi', [1, -2], '01 000000 fffffffe'],
    ['yu', [1, 0x01020304], '01 000000 01020304'],
    ['yx', [1, -2n], '01 00000000000000 fffffffffffffffe'],
    ['yt', [1, 0x0102030405060708n], '01 00000000000000 0102030405060708'],
    ['yt', [1, 2 ** 40 + 5], '01 00000000000000 0000010000000005'],
    ['yd', [1, 1.0], '01 00000000000000 3ff0000000000000'],
    ['b', [true], '00000001'],
    ['s', ['hi'], '00000002 6869 00'],
    ['g', ['ai'], '02 6169 00'],
    ['ax', [[1n]], '00000008 00000000 0000000000000001'],
    ['a{yq}', [{ 7: 8 }], '00000004 00000000 07 00 0008'],
    ['v', [{ signature: 'u', value: 9 }], '01 75 00 00 00000009'],
  ];
  for (const [sig, values, hex] of cases) {
    it(`'${sig}' marshals to ${hex} and back`, () => {
      const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex');
      expect(marshal(sig, values, { endian: 'big' }).toString('hex')).toBe(bytes.toString('hex'));
      const back = unmarshal(sig, bytes, { endian: 'big' });
      expect(back.length).toBe(values.length);
      expect(marshal(sig, back, { endian: 'big' }).equals(bytes)).toBe(true);
    });
  }
});
