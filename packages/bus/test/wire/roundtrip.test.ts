// Property tests: random signatures and values survive marshal/unmarshal and encode/decode in both byte orders.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, marshal, unmarshal, Variant } from '../../src/wire/index.js';
import { bodyArb } from './helpers.js';

const endianArb = fc.constantFrom('little' as const, 'big' as const);

describe('round trips of random values for random signatures', () => {
  it('marshal then unmarshal gives the values back, at any alignment offset', () => {
    fc.assert(
      fc.property(bodyArb({}, 8), endianArb, fc.nat(15), ({ signature, body }, endian, offset) => {
        const bytes = marshal(signature, body, { endian, offset });
        expect(unmarshal(signature, bytes, { endian, offset, unixFds: 8 })).toEqual(body);
      }),
      { numRuns: 400 },
    );
  });

  it('encodeMessage then decodeMessage gives the message back', () => {
    fc.assert(
      fc.property(bodyArb({}, 4), endianArb, fc.integer({ min: 1, max: 2 ** 32 - 1 }), ({ signature, body }, endian, serial) => {
        const msg = { type: 4, flags: 0, serial, path: '/a/b', interface: 'org.test.Iface', member: 'Changed', signature, body, unixFds: 4 };
        const bytes = encodeMessage(msg, { endian });
        expect(bytes[0]).toBe(endian === 'little' ? 0x6c : 0x42);
        const back = decodeMessage(bytes);
        expect(back.body).toEqual(body);
        expect(back.signature).toBe(signature);
        expect(back.serial).toBe(serial);
        expect(back.unixFds).toBe(4);
      }),
      { numRuns: 300 },
    );
  });

  it('big-endian and little-endian encodings decode to equal values', () => {
    fc.assert(
      fc.property(bodyArb({ noFd: true }), ({ signature, body }) => {
        const le = marshal(signature, body);
        const be = marshal(signature, body, { endian: 'big' });
        expect(be.length).toBe(le.length);
        expect(unmarshal(signature, be, { endian: 'big' })).toEqual(unmarshal(signature, le));
      }),
      { numRuns: 200 },
    );
  });

  it('decoding never throws anything but WireError on mutated messages', async () => {
    const { WireError } = await import('../../src/wire/index.js');
    fc.assert(
      fc.property(
        bodyArb({}, 4),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        ({ signature, body }, flips) => {
          const bytes = Buffer.from(encodeMessage({ type: 1, flags: 0, serial: 5, path: '/p', member: 'M', signature, body, unixFds: 4 }));
          for (const [at, v] of flips) bytes[at % bytes.length] = v;
          try {
            decodeMessage(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(WireError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random bytes, with or without a plausible fixed header, only ever raise WireError', async () => {
    const { WireError, FrameReader } = await import('../../src/wire/index.js');
    const header = fc.tuple(fc.constantFrom(0x6c, 0x42), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(1, 1, 2));
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 200 }), fc.boolean(), ([e, t, f, v], rest, plausible) => {
        const bytes = Buffer.from(plausible ? [e, t, f, v, ...rest] : rest);
        if (plausible && bytes.length >= 16) {
          // Make the lengths agree with the input size, so parsing gets past the framing.
          const le = e === 0x6c;
          const fields = Math.max(0, bytes.length - 16 - (bytes[16] ?? 0) % 9);
          const bodyLen = bytes.length - 16 - ((fields + 7) & ~7);
          if (bodyLen >= 0) {
            if (le) { bytes.writeUInt32LE(fields, 12); bytes.writeUInt32LE(bodyLen, 4); }
            else { bytes.writeUInt32BE(fields, 12); bytes.writeUInt32BE(bodyLen, 4); }
          }
        }
        for (const attempt of [() => decodeMessage(bytes), () => new FrameReader().push(bytes)]) {
          try {
            attempt();
          } catch (err) {
            expect(err).toBeInstanceOf(WireError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('decoded ay values are views unless copyBytes is asked for', () => {
    const bytes = encodeMessage({ type: 4, flags: 0, serial: 1, path: '/p', interface: 'a.b', member: 'M', signature: 'ay', body: [Buffer.from('abc')] });
    const view = decodeMessage(bytes).body[0] as Buffer;
    const copy = decodeMessage(bytes, { copyBytes: true }).body[0] as Buffer;
    bytes[bytes.length - 1] = 0x7a;
    expect(view.toString()).toBe('abz');
    expect(copy.toString()).toBe('abc');
  });

  it('variants nest, and dbus-next-shaped variants are accepted on encode', () => {
    const plain = { signature: 'v', value: new Variant('i', 3) };
    const bytes = marshal('v', [plain]);
    expect(unmarshal('v', bytes)).toEqual([new Variant('v', new Variant('i', 3))]);
  });
});
