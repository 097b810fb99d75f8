// Byte-for-byte and value-for-value agreement with dbus-next 0.10's own marshaller and parser.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { decodeMessage, encodeMessage, marshal, messageByteLength, MessageType, unmarshal, Variant, type Message } from '../../src/wire/index.js';
import { bodyArb, dbusNextDecode, dbusNextEncode, objectPathArb } from './helpers.js';

const sig = (type: MessageType, extra: Partial<Message>): Message => ({
  type,
  flags: 0,
  serial: 1,
  signature: '',
  body: [],
  ...extra,
});

// A corpus covering every type, nesting, and the four message types.
const corpus: [string, Message][] = [
  ['bytes', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'yyy', body: [0, 127, 255] })],
  ['booleans', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'bbb', body: [true, false, true] })],
  ['int16', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'ynqn', body: [1, -32768, 65535, 32767] })],
  ['int32', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'yiu', body: [9, -(2 ** 31), 2 ** 32 - 1] })],
  ['int64', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'yxt', body: [1, -(2n ** 63n) + 1n, 2n ** 64n - 1n] })],
  ['int64 from numbers', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'xt', body: [-5, 2 ** 53 - 1] })],
  ['double', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'yd', body: [3, -1.5e300] })],
  ['strings', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'sosg', body: ['', '/x/y_z', 'ünïcödé ✓ 𝄞', 'a{sv}(ii)'] })],
  ['ay', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'ayay', body: [Buffer.from([1, 2, 3]), Buffer.alloc(0)] })],
  ['arrays', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'aiasaxad', body: [[1, 2], ['x', ''], [], [1.5]] })],
  ['empty 8-aligned array', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'yax', body: [1, []] })],
  ['structs', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'y(ib(sy))a(nd)', body: [1, [2, true, ['s', 3]], [[1, 2.5], [-1, 0]]] })],
  ['dicts', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'a{ss}a{oi}', body: [{ a: 'b', c: '' }, { '/p': 1 }] })],
  ['variants', sig(4, {
    path: '/a', interface: 'a.b', member: 'C', signature: 'vva{sv}av',
    body: [new Variant('s', 'x'), new Variant('(iv)', [1, new Variant('ay', Buffer.from('hi'))]),
      { n: new Variant('u', 7), m: new Variant('a{sv}', { deep: new Variant('q', 9) }) }, [new Variant('b', true), new Variant('d', 2)]],
  })],
  ['int64 inside a variant', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'v', body: [new Variant('(xt)', [-2n, 3n])] })],
  ['nested arrays', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'aaiaa{sv}aay', body: [[[1], [], [2, 3]], [{ k: new Variant('i', 1) }, {}], [Buffer.from([9])]] })],
  ['method call', sig(1, { serial: 77, path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello', destination: 'org.freedesktop.DBus' })],
  ['method call with flags', sig(1, { serial: 78, flags: 3, path: '/o', member: 'M', destination: ':1.5', sender: ':1.6', signature: 's', body: ['x'] })],
  ['method return', sig(2, { serial: 2, replySerial: 77, destination: ':1.5', sender: 'org.freedesktop.DBus', signature: 's', body: [':1.5'] })],
  ['error', sig(3, { serial: 3, replySerial: 78, errorName: 'org.freedesktop.DBus.Error.Failed', destination: ':1.5', signature: 's', body: ['boom'] })],
  ['signal, no body', sig(4, { serial: 0xffffffff, path: '/', interface: 'org.x.Y', member: 'Z' })],
  ['long string', sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 's', body: ['x'.repeat(5000)] })],
];

/**
 * Applies each change to `msg` (all in order, then in reverse, each twice:
 * the second time hits the header cache) and checks our bytes against
 * dbus-next's, and that `fields` and the body survive a decode.
 */
function checkVariants(msg: Message, variants: ((m: Message) => void)[], fields: (m: Message) => unknown[]): void {
  for (const change of [...variants, ...variants.slice().reverse()]) {
    for (let i = 0; i < 2; i++) {
      change(msg);
      const ours = encodeMessage(msg);
      expect(ours.toString('hex')).toBe(dbusNextEncode(msg as unknown as Record<string, unknown>).toString('hex'));
      const back = decodeMessage(ours);
      expect(fields(back)).toEqual(fields(msg));
      expect(back.body).toEqual(msg.body);
    }
  }
}

describe('byte-for-byte equality with dbus-next', () => {
  for (const [name, msg] of corpus) {
    it(`encodes ${name} exactly as dbus-next does`, () => {
      const ours = encodeMessage(msg);
      const theirs = dbusNextEncode(msg as unknown as Record<string, unknown>);
      expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    });
  }

  // dbus-next reads big-endian 64-bit integers with their halves swapped, so
  // those cases are checked against hand-made fixtures (big-endian.test.ts).
  const has64 = (m: Message) => JSON.stringify(m, (_k, v) => (typeof v === 'bigint' ? 'big' : v)).includes('"big"') || /[xt]/.test(m.signature);
  for (const [name, msg] of corpus.filter(([, m]) => m.signature !== '')) {
    for (const endian of has64(msg) ? (['little'] as const) : (['little', 'big'] as const)) {
      it(`decodes ${name} (${endian}-endian) to what dbus-next reads`, () => {
        const bytes = encodeMessage(msg, { endian });
        const ours = decodeMessage(bytes);
        const theirs = dbusNextDecode(bytes);
        expect(ours.body).toEqual(theirs.body);
        expect(ours.signature).toBe(theirs.signature);
        for (const k of ['path', 'interface', 'member', 'errorName', 'replySerial', 'destination', 'sender', 'serial', 'type', 'flags'] as const) {
          expect(ours[k]).toEqual(theirs[k]);
        }
      });
    }
  }

  it('dbus-next keys decoded dicts by the string of numeric, bigint and boolean keys, and so do we', () => {
    const bytes = encodeMessage(sig(4, {
      path: '/a', interface: 'a.b', member: 'C', signature: 'a{iu}a{ts}a{bs}a{dy}',
      body: [new Map([[-1, 2], [3, 4]]), new Map([[2n ** 64n - 1n, 'max']]), new Map([[true, 't'], [false, 'f']]), new Map([[1.5, 1]])],
    }));
    const ours = decodeMessage(bytes);
    expect(ours.body).toEqual(dbusNextDecode(bytes).body);
    expect(ours.body).toEqual([{ '-1': 2, '3': 4 }, { '18446744073709551615': 'max' }, { true: 't', false: 'f' }, { '1.5': 1 }]);
    // And the object form encodes back to the same values (key order follows JS property order).
    expect(decodeMessage(encodeMessage({ ...ours })).body).toEqual(ours.body);
  });

  it('repeated headers (served from the header cache) still match dbus-next, whatever changes between messages', () => {
    const msg: Message = sig(4, { path: '/a', interface: 'a.b', member: 'C', signature: 'su', body: ['x', 1] });
    const variants: ((m: Message) => void)[] = [
      (m) => { m.serial += 1; },
      (m) => { m.flags = 1; },
      (m) => { m.body = m.signature === 'su' ? ['longer string', 2] : [5]; },
      (m) => { m.member = 'D'; },
      (m) => { m.sender = ':1.7'; },
      (m) => { m.destination = 'org.x'; },
      (m) => { m.signature = 'i'; m.body = [-1]; },
      (m) => { m.type = 1; },
      (m) => { m.path = '/b/c'; },
      (m) => { m.interface = undefined; },
    ];
    checkVariants(msg, variants, (m) => [m.serial, m.flags, m.member, m.sender, m.destination, m.path, m.interface]);
    // A cached header is still checked for a bad serial and a wrong body.
    expect(() => encodeMessage({ ...msg, serial: 0 })).toThrow(/bad-serial/);
    expect(() => encodeMessage({ ...msg, body: [] })).toThrow(/bad-value/);
  });

  it('repeated reply and error headers (the cache writes each REPLY_SERIAL anew) still match dbus-next', () => {
    const msg: Message = sig(2, { replySerial: 7, destination: ':1.4.2', sender: ':1.9', signature: 's', body: ['x'] });
    const variants: ((m: Message) => void)[] = [
      (m) => { m.replySerial = (m.replySerial! % 1000) + 1; m.serial += 1; },
      (m) => { m.replySerial = 0xffffffff; },
      (m) => { m.destination = ':1.4.3'; },
      (m) => { m.signature = ''; m.body = []; },
      (m) => { m.type = 3; m.errorName = 'org.x.Error'; m.signature = 's'; m.body = ['why']; },
      (m) => { m.errorName = 'org.x.Other'; m.replySerial = 3; },
      (m) => { m.sender = undefined; },
    ];
    checkVariants(msg, variants, (m) => [m.type, m.serial, m.replySerial, m.errorName, m.destination, m.sender]);
    // The reply serial, not in the cached bytes, is still checked.
    expect(() => encodeMessage({ ...msg, replySerial: 0 })).toThrow(/bad-serial/);
    expect(() => encodeMessage({ ...msg, replySerial: 2 ** 32 })).toThrow(/bad-serial/);
  });

  it('bodies marshalled at an offset pad as dbus-next pads them at that offset', () => {
    const marshall = createRequire(import.meta.url)('dbus-next/lib/marshall.js') as (s: string, d: unknown[], o: number) => Buffer;
    const cases: [string, unknown[]][] = [['yi', [1, 2]], ['yx', [1, 5n]], ['ya(yi)', [1, [[2, 3]]]], ['ysaxd', [7, 'é', [1n], 0.5]], ['(yq)', [[1, 2]]]];
    for (const [signature, values] of cases) {
      for (let offset = 0; offset < 8; offset++) {
        expect(marshal(signature, values, { offset }).toString('hex'), `${signature} at ${offset}`).toBe(marshall(signature, values, offset).toString('hex'));
        expect(unmarshal(signature, marshal(signature, values, { offset }), { offset })).toEqual(values);
      }
    }
  });

  it('messageByteLength reads the length at any offset of a stream', () => {
    const a = encodeMessage(corpus[0]![1]);
    const b = encodeMessage(corpus[5]![1], { endian: 'big' });
    const both = Buffer.concat([a, b]);
    expect(messageByteLength(both)).toBe(a.length);
    expect(messageByteLength(both, a.length)).toBe(b.length);
    expect(messageByteLength(both, both.length - 15)).toBeUndefined();
  });

  it('-0 keeps its sign (dbus-next would write +0)', () => {
    const b = marshal('d', [-0]);
    expect(b.toString('hex')).toBe('0000000000000080');
    expect(Object.is(unmarshal('d', b)[0], -0)).toBe(true);
  });

  it('random bodies encode to dbus-next bytes and decode to dbus-next values (little-endian)', () => {
    fc.assert(
      fc.property(bodyArb({ dbusNextSafe: true }), objectPathArb, ({ signature, body }, path) => {
        const msg = sig(4, { path, interface: 'org.test.I', member: 'M', signature, body });
        const ours = encodeMessage(msg);
        expect(ours.toString('hex')).toBe(dbusNextEncode(msg as unknown as Record<string, unknown>).toString('hex'));
        if (signature !== '') expect(decodeMessage(ours).body).toEqual(dbusNextDecode(ours).body);
      }),
      { numRuns: 300 },
    );
  });

  it('random big-endian bodies decode to what dbus-next reads', () => {
    fc.assert(
      fc.property(bodyArb({ dbusNextSafe: true, no64: true }), ({ signature, body }) => {
        fc.pre(signature !== '');
        const bytes = encodeMessage(sig(1, { path: '/p', member: 'M', signature, body }), { endian: 'big' });
        expect(bytes[0]).toBe(0x42);
        expect(decodeMessage(bytes).body).toEqual(dbusNextDecode(bytes).body);
      }),
      { numRuns: 200 },
    );
  });
});
