// publish() frames a Buffer as msgpack bin itself (msgpackr's set-up cost
// more than the work); the bytes must be exactly msgpackr's, both ways, at
// every header size, and malformed bodies must fail as msgpackr fails.
import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { packValue, unpackValue } from 'ipnbus';

// The options pubsub.ts packs with.
const msgpackr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'bigint' });

describe('pub/sub bytes framing', () => {
  it.each([0, 1, 16, 255, 256, 4096, 65_535, 65_536, 200_000])('a %i-byte Buffer packs to msgpackr\'s bytes and back', (n) => {
    const value = Buffer.alloc(n);
    for (let i = 0; i < n; i++) value[i] = (i * 31) & 0xff;
    const ours = packValue(value);
    expect(Buffer.compare(ours, msgpackr.pack(value))).toBe(0);
    const back = unpackValue(ours) as Buffer;
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(Buffer.compare(back, value)).toBe(0);
    // msgpackr decodes ours, and we decode msgpackr's, to the same thing.
    expect(Buffer.compare(msgpackr.unpack(ours) as Buffer, value)).toBe(0);
    expect(Buffer.compare(unpackValue(msgpackr.pack(value)) as Buffer, value)).toBe(0);
  });

  it('a bin with bytes after it, or cut short, is refused as msgpackr refuses it', () => {
    const whole = packValue(Buffer.from([1, 2, 3]));
    const trailing = Buffer.concat([whole, Buffer.from([0])]);
    expect(() => unpackValue(trailing)).toThrow();
    expect(() => msgpackr.unpack(trailing)).toThrow();
    const short = whole.subarray(0, whole.length - 1);
    expect(() => unpackValue(short)).toThrow();
  });

  it('other values still go through msgpackr (a Uint8Array stays a Uint8Array)', () => {
    const u8 = new Uint8Array([5, 6]);
    expect(Buffer.compare(packValue(u8), msgpackr.pack(u8))).toBe(0);
    expect(unpackValue(packValue(u8))).toEqual(u8);
    expect(unpackValue(packValue({ a: [1n, 'x'] }))).toEqual({ a: [1n, 'x'] });
  });
});
