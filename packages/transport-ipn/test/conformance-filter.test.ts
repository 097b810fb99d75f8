// The Network conformance suite, filters (see conformance-setup.ts): the
// bloom prefilter set with setFilter, and the one open() puts in force from
// the join.
import { describe, expect, it } from 'vitest';
import { BACKEND } from './member.js';
import { conformanceSetup, until } from './conformance-setup.js';

const { busPath, spawn, local } = conformanceSetup();

describe(`Network conformance: filters (${BACKEND} backend)`, () => {
  it('bloom prefilter: a member only gets broadcasts its masks match', async () => {
    const path = busPath();
    const sender = await local(path);
    const [rx] = spawn(1);
    await rx!.open(path, { backend: BACKEND });
    const mask = Buffer.alloc(16);
    mask[3] = 0x11;
    await rx!.must('setFilter', { masks: [mask.toString('hex')] });
    await rx!.must('record');
    // A unicast from the receiver travels behind its filter: once it is
    // here, the sender holds the filter.
    await until(() => sender.members().some((m) => m.id === rx!.id), 15_000, 'the sender to know the receiver');
    const ack = new Promise<void>((r) => sender.on('message', (m) => m.bytes.toString() === 'filter set' && r()));
    await rx!.must('unicast', { to: String(sender.id), text: 'filter set' });
    await ack;
    const hit = Buffer.alloc(16);
    hit[3] = 0x31;
    hit[9] = 0xff;
    const miss = Buffer.alloc(16);
    miss[3] = 0x10;
    const p = Buffer.alloc(16);
    for (let i = 0; i < 30; i++) {
      p.writeUInt32LE(1, 0);
      p.writeUInt32LE(i, 4);
      // i % 3: 0 matching bloom, 1 non-matching, 2 no bloom (matches all).
      sender.broadcast(p, i % 3 === 0 ? hit : i % 3 === 1 ? miss : undefined);
    }
    // A last matching one: per-sender order means that when it is here,
    // everything before it was delivered or filtered out.
    p.writeUInt32LE(30, 4);
    sender.broadcast(p, hit);
    await rx!.must('waitCount', { n: 21, timeoutMs: 10_000 });
    const r = await rx!.must('report');
    expect(r.count).toBe(21);
  });

  it('a filter given to open() is in force from the join: nothing unfiltered queues up first', async () => {
    const path = busPath();
    const sender = await local(path);
    const mask = Buffer.alloc(16);
    mask[5] = 0x0f;
    const joined = new Promise<void>((r) => sender.once('join', () => r()));
    const rx = await local(path, { filter: [mask] });
    const got: number[] = [];
    rx.on('message', (m) => got.push(m.bytes[0]!));
    await joined;
    const hit = Buffer.alloc(16);
    hit[5] = 0x3f;
    const miss = Buffer.alloc(16);
    miss[5] = 0x10;
    // No setFilter anywhere: the open() option alone must keep `miss` out.
    sender.broadcast(Buffer.from([1]), miss);
    sender.broadcast(Buffer.from([2]), hit);
    sender.broadcast(Buffer.from([3]));
    // The last one, matching: once it is here, so is all that came before.
    sender.broadcast(Buffer.from([4]), hit);
    await until(() => got.includes(4), 10_000, 'the last broadcast');
    expect(got).toEqual([2, 3, 4]);
  });
});
