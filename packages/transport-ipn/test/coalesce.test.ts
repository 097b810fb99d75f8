// Coalescing: broadcasts after the first of an event-loop turn travel packed
// in one Batch datagram; these pin down that nothing about order, filtering,
// loopback or loss accounting changes because of it. Runs on the backend
// named by IPNBUS_TEST_BACKEND (user on the host, kernel in the VM).
import { describe, expect, it } from 'vitest';
import { BatchBuilder, batchMessages, countRecords } from '../src/batch.js';
import type { IncomingMessage } from '../src/network.js';
import { BACKEND } from './member.js';
import { collect, pairsPerTest, text } from './pair.js';

const pair = pairsPerTest('coalesce');

const bloomOf = (byte: number): Buffer => Buffer.alloc(16, byte);

describe(`coalescing (${BACKEND} backend)`, () => {
  it('batch records round-trip, and a malformed batch is refused whole', () => {
    const b = new BatchBuilder(8);
    for (const s of ['a', '', 'xyz'.repeat(100)]) b.append(Buffer.from(s));
    // Records read in place, behind a header of 5 bytes and before 3 more.
    const block = Buffer.concat([Buffer.alloc(5, 9), b.payload(), Buffer.alloc(3, 9)]);
    const end = 5 + b.bytes;
    expect(countRecords(block, 5, end)).toBe(3);
    const got: IncomingMessage[] = [];
    batchMessages(block, 5, end, 7n, 2, undefined, (m) => got.push(m) > 0);
    expect(got.map((m) => m.bytes.toString())).toEqual(['a', '', 'xyz'.repeat(100)]);
    expect(got.map((m) => block.subarray(m.offset, m.offset + m.length).toString())).toEqual(['a', '', 'xyz'.repeat(100)]);
    // The loss came before the batch: counted on its first message only.
    expect(got.map((m) => [m.from, m.dropped, m.unicast, m.fds.length])).toEqual([[7n, 2, false, 0], [7n, 0, false, 0], [7n, 0, false, 0]]);
    // A take that says stop is handed nothing more.
    let taken = 0;
    batchMessages(block, 5, end, 7n, 0, undefined, () => ++taken < 2);
    expect(taken).toBe(2);
    expect(countRecords(block, 5, end - 1)).toBe(-1);
    expect(countRecords(Buffer.from([1, 0, 0]), 0, 3)).toBe(-1);
    expect(countRecords(Buffer.from([9, 0, 0, 0, 1]), 0, 5)).toBe(-1);
    expect(countRecords(Buffer.alloc(0), 0, 0)).toBe(0);
  });

  it('a burst goes out as one batch after the first message, in order, then a unicast after it', async () => {
    const [a, b] = await pair();
    const got = collect(b, 101);
    for (let i = 0; i < 100; i++) a.broadcast(Buffer.from(`m${i}`));
    // Sent in the same turn as the burst: must not overtake it.
    a.send(b.id, Buffer.from('direct'));
    const ms = await got;
    expect(ms.map(text)).toEqual([...Array.from({ length: 100 }, (_, i) => `m${i}`), 'direct']);
    expect(ms.every((m) => m.from === a.id && m.dropped === 0)).toBe(true);
    expect(ms[100]!.unicast).toBe(true);
    expect(a.batchesSent).toBe(1);
    expect(a.batchedMessages).toBe(99);
  });

  it('an idle sender\'s broadcast leaves at once, unbatched', async () => {
    const [a, b] = await pair();
    const got = collect(b, 3);
    for (let i = 0; i < 3; i++) {
      a.broadcast(Buffer.from(`t${i}`));
      // Idle is a time (turn.ts: more than STREAMING_GAP_MS, 0.5 ms, since
      // the last busy turn): the gap is what this test is about, not a wait.
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await got).map(text)).toEqual(['t0', 't1', 't2']);
    expect(a.batchesSent).toBe(0);
  });

  it('mixed blooms keep their order and each receiver only gets what its filter takes', async () => {
    const [a, b] = await pair();
    b.setFilter([bloomOf(0x01)]);
    // The user backend's sender applies b's filter once it has read it: a
    // unicast b sends after the filter reaches a after it (per-pair order).
    const filterTaken = collect(a, 1);
    b.send(a.id, Buffer.from('after my filter'));
    await filterTaken;
    const got = collect(b, 4);
    const sent = ['x0', 'y1', 'x2', 'x3', 'y4', 'x5'];
    for (const s of sent) a.broadcast(Buffer.from(s), bloomOf(s[0] === 'x' ? 0x01 : 0x02));
    expect((await got).map(text)).toEqual(['x0', 'x2', 'x3', 'x5']);
  });

  it('loopback copies of batched broadcasts come back in the same order', async () => {
    const [a, b] = await pair({ loopback: true });
    const mine = collect(a, 50);
    const theirs = collect(b, 50);
    for (let i = 0; i < 50; i++) a.broadcast(Buffer.from(`l${i}`));
    const want = Array.from({ length: 50 }, (_, i) => `l${i}`);
    expect((await mine).map(text)).toEqual(want);
    expect((await theirs).map(text)).toEqual(want);
  });

  it('a lossy network batches only where drops are counted per message (user backend)', async () => {
    const [a, b] = await pair({ lossless: false });
    const got = collect(b, 20);
    for (let i = 0; i < 20; i++) a.broadcast(Buffer.from(`q${i}`));
    expect((await got).map(text)).toEqual(Array.from({ length: 20 }, (_, i) => `q${i}`));
    // The kernel counts lost datagrams, not the messages a batch held.
    expect(a.batchesSent).toBe(BACKEND === 'kernel' ? 0 : 1);
  });

  it('flushPending() sends what the turn held back at once, in order', async () => {
    const [a, b] = await pair();
    const got = collect(b, 3);
    for (let i = 0; i < 3; i++) a.broadcast(Buffer.from(`f${i}`));
    expect(a.batchesSent).toBe(0);
    a.flushPending();
    // Gone before the turn ends, not merely scheduled.
    expect(a.batchesSent).toBe(1);
    expect(a.batchedMessages).toBe(2);
    expect((await got).map(text)).toEqual(['f0', 'f1', 'f2']);
  });

  it('close sends what was accepted in this turn', async () => {
    const [a, b] = await pair();
    const got = collect(b, 10);
    for (let i = 0; i < 10; i++) a.broadcast(Buffer.from(`c${i}`));
    a.close();
    expect((await got).map(text)).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
  });
});
