// FrameReader: a stream of messages cut at arbitrary points comes out whole, in order, in both byte orders.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeMessage, FrameReader, Variant, WireError, type Message } from '../../src/wire/index.js';

const messages: Message[] = [
  { type: 1, flags: 0, serial: 1, path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello', destination: 'org.freedesktop.DBus', signature: '', body: [] },
  { type: 4, flags: 0, serial: 2, path: '/a', interface: 'a.b', member: 'S', signature: 'sa{sv}', body: ['x', { k: new Variant('ay', Buffer.alloc(300, 7)) }] },
  { type: 2, flags: 0, serial: 3, replySerial: 1, signature: 'ay', body: [Buffer.alloc(70_000, 3)] },
  { type: 3, flags: 1, serial: 4, replySerial: 2, errorName: 'a.b.Failed', signature: 's', body: ['no'] },
];
const stream = Buffer.concat(messages.map((m, i) => encodeMessage(m, { endian: i % 2 ? 'big' : 'little' })));

function feed(reader: FrameReader, cuts: number[]): Message[] {
  const out: Message[] = [];
  let at = 0;
  for (const c of [...cuts, stream.length]) {
    out.push(...reader.push(stream.subarray(at, c)));
    at = c;
  }
  return out;
}

function expectAll(got: Message[]): void {
  expect(got).toHaveLength(messages.length);
  got.forEach((m, i) => {
    expect(m.serial).toBe(messages[i]!.serial);
    // Compared re-encoded: deep-equal over 70 kB Buffers element by element is slow.
    expect(encodeMessage(m).equals(encodeMessage(messages[i]!))).toBe(true);
  });
}

describe('FrameReader', () => {
  it('whole stream in one chunk', () => {
    expectAll(new FrameReader().push(stream));
  });

  it('one byte at a time', () => {
    const r = new FrameReader();
    const got: Message[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...r.push(stream.subarray(i, i + 1)));
    expectAll(got);
    expect(r.pending).toBe(0);
  });

  it('random splits', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }), (cuts) => {
        cuts.sort((a, b) => a - b);
        expectAll(feed(new FrameReader(), cuts));
      }),
      { numRuns: 200 },
    );
  });

  it('pushRaw returns the exact frames', () => {
    const r = new FrameReader();
    const frames = [...r.pushRaw(stream.subarray(0, 100)), ...r.pushRaw(stream.subarray(100))];
    expect(Buffer.concat(frames).equals(stream)).toBe(true);
    expect(frames.map((f) => f.length)).toEqual(messages.map((m, i) => encodeMessage(m, { endian: i % 2 ? 'big' : 'little' }).length));
  });

  it('holds an incomplete tail until the rest arrives', () => {
    const r = new FrameReader();
    const first = encodeMessage(messages[0]!);
    expect(r.push(first.subarray(0, first.length - 1))).toEqual([]);
    expect(r.pending).toBe(first.length - 1);
    expect(r.push(first.subarray(first.length - 1))).toHaveLength(1);
  });

  it('returns the good frames before a framing error, then throws', () => {
    const r = new FrameReader();
    const good = encodeMessage(messages[0]!);
    const got = r.push(Buffer.concat([good, good, Buffer.from('garbage that is not a message')]));
    expect(got.map((m) => m.member)).toEqual(['Hello', 'Hello']);
    expect(() => r.push(good)).toThrow(/bad-endian/);
  });

  it('refuses a bad endian byte and frames over its limit', () => {
    expect(() => new FrameReader().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(WireError);
    const r = new FrameReader({ maxMessageLength: 1024 });
    // The first two messages fit; the third (70 kB) is refused once its header is in.
    expect(r.push(stream.subarray(0, stream.indexOf(Buffer.alloc(1000, 3))))).toHaveLength(2);
    expect(() => r.push(Buffer.alloc(1))).toThrow(/too-long/);
  });
});

/**
 * Element reads and writes on the reader's list of pending chunks while a
 * message of `n` bytes is fed one byte at a time. The list is wrapped (each
 * time the reader assigns it) in a Proxy that counts index accesses, so
 * work done inside Array methods (shift() moves every remaining element)
 * is counted too. No clock: the count does not depend on machine load.
 */
function chunkListWork(n: number): number {
  const msg = encodeMessage({ type: 2, flags: 0, serial: 9, replySerial: 1, signature: 'ay', body: [Buffer.alloc(n - 36, 5)] });
  expect(msg.length).toBe(n);
  const r = new FrameReader();
  let ops = 0;
  const isIndex = (k: string | symbol): boolean => typeof k === 'string' && /^\d+$/.test(k);
  const counting = (list: Buffer[]): Buffer[] =>
    new Proxy(list, {
      get(t, k, rcv) {
        if (isIndex(k)) ops++;
        return Reflect.get(t, k, rcv);
      },
      set(t, k, v, rcv) {
        if (isIndex(k)) ops++;
        return Reflect.set(t, k, v, rcv);
      },
      deleteProperty(t, k) {
        if (isIndex(k)) ops++;
        return Reflect.deleteProperty(t, k);
      },
    });
  const holder = r as unknown as { chunks: Buffer[] };
  let list = counting(holder.chunks);
  Object.defineProperty(r, 'chunks', {
    get: () => list,
    set: (v: Buffer[]) => {
      list = counting(v);
    },
  });
  const got: Message[] = [];
  for (let i = 0; i < n; i++) got.push(...r.push(msg.subarray(i, i + 1)));
  expect(got).toHaveLength(1);
  expect(encodeMessage(got[0]!).equals(msg)).toBe(true);
  return ops;
}

describe('FrameReader cost', () => {
  it('is linear in the number of chunks: 4x the 1-byte chunks costs about 4x the work, not 16x', () => {
    const small = chunkListWork(4_096);
    const large = chunkListWork(16_384);
    // Linear: ratio ~4. The old shift()-per-chunk take() gave ~16 here.
    expect(large / small).toBeLessThan(5);
    // And a small constant per chunk, not a hidden factor of n.
    expect(large / 16_384).toBeLessThan(8);
  });
});
