// The Network conformance suite, flow (see conformance-setup.ts): lossless
// backpressure and 'drain', sendLossy, a lossy network's exact loss counts,
// and fragmentation up to 64 MiB.
import { describe, expect, it } from 'vitest';
import { BACKEND, Member, scaled } from './member.js';
import { conformanceSetup, knows, until } from './conformance-setup.js';
import { open, type Network } from '../src/index.js';

const { busPath, spawn, local } = conformanceSetup();

/**
 * A sender in this process and one member process that records what it gets
 * and is then stopped (SIGSTOP): it reads nothing, however slow the machine,
 * until the test resumes it. The setup of the full-receiver tests.
 */
async function stalledReceiver(opts: Parameters<typeof open>[1], record: { unicasts?: boolean } = {}): Promise<{ sender: Network; slow: Member }> {
  const path = busPath();
  const sender = await local(path, opts);
  const [slow] = spawn(1);
  await slow!.open(path, { backend: BACKEND });
  await slow!.must('record', record);
  await until(() => sender.members().some((m) => m.id === slow!.id), 15_000, 'the sender to know the receiver');
  slow!.stop();
  return { sender, slow: slow! };
}

/**
 * After a lossy receiver resumes, the count of what it lost rides on the
 * next message it gets; one sent while its queue is still full is lost
 * too. So: send one more tagged message at a time until the receiver has
 * accounted (received + dropped) for `atLeast(sent)`. Returns how many
 * messages were sent in all.
 */
async function flushLossCount(sender: Network, slow: Member, payload: Buffer, sent: number, atLeast: (n: number) => number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    payload.writeUInt32LE(sent, 4);
    payload.writeUInt32LE(sent, payload.length - 4);
    sender.broadcast(payload);
    sent++;
    const r = await slow.call('waitCount', { n: atLeast(sent), withDropped: true, timeoutMs: 1000 });
    if (r.ok) return sent;
    if (Date.now() > deadline) throw new Error(`the receiver never accounted for ${sent} messages: ${r.error}`);
  }
}

describe(`Network conformance: flow (${BACKEND} backend)`, () => {
  it('lossless: nothing is lost under a flood (backpressure)', async () => {
    const path = busPath();
    const ms = spawn(8);
    for (const m of ms) await m.open(path, { backend: BACKEND });
    const count = scaled(100_000, 2000);
    const rx = ms.slice(1);
    for (const m of rx) await m.must('record');
    const sent = await ms[0]!.must('blast', { count, size: 64, tag: 7 });
    expect(sent.sent).toBe(count);
    await Promise.all(rx.map((m) => m.must('waitCount', { n: count, timeoutMs: 45_000 })));
    for (const m of rx) {
      const r = await m.must('report');
      expect(r.count).toBe(count);
      expect(r.dropped).toBe(0);
      const t = (r.perTag as Record<string, { n: number; inOrder: boolean }>)['7']!;
      expect(t.inOrder).toBe(true);
    }
  });

  it('lossless: a full receiver makes broadcast return false, then drain', async () => {
    const { sender, slow } = await stalledReceiver({});
    const payload = Buffer.alloc(4096);
    let sent = 0;
    let full = false;
    while (!full && sent < 1_000_000) {
      payload.writeUInt32LE(9, 0);
      payload.writeUInt32LE(sent, 4);
      sent++;
      full = !sender.broadcast(payload);
    }
    expect(full).toBe(true);
    const drained = new Promise<void>((resolve) => sender.once('drain', resolve));
    slow.resume();
    await drained;
    await slow.must('waitCount', { n: sent, timeoutMs: 20_000 });
    const r = await slow.must('report');
    expect(r.count).toBe(sent);
    expect(r.dropped).toBe(0);
  });

  it("lossless: 'drain' follows once `queued` was seen true, though every broadcast returned true", async () => {
    // The user backend coalesces: a broadcast returns true and the batch
    // queues at the end of the turn. A publisher that then reads `queued`
    // (the bus's Connection.backpressured) and waits for 'drain' must get one.
    const { sender, slow } = await stalledReceiver({});
    const payload = Buffer.alloc(4096);
    let sent = 0;
    let full = false;
    while (!full && sent < 100_000) {
      payload.writeUInt32LE(9, 0);
      payload.writeUInt32LE(sent, 4);
      sent++;
      full = !sender.broadcast(payload);
      if (!full) {
        await new Promise((resolve) => setImmediate(resolve));
        full = sender.queued === true;
      }
    }
    expect(full).toBe(true);
    const drained = new Promise<void>((resolve) => sender.once('drain', resolve));
    slow.resume();
    await drained;
    expect(sender.queued ?? false).toBe(false);
    await slow.must('waitCount', { n: sent, timeoutMs: 20_000 });
  });

  it('sendLossy: a full receiver drops the copies, the sender never waits, and what went out arrives', async () => {
    // On a lossless network: the copies of a monitor must not hold its senders.
    const { sender, slow } = await stalledReceiver({}, { unicasts: true });
    const payload = Buffer.alloc(4096);
    payload.writeUInt32LE(7, 0);
    let sent = 0;
    let refused = 0;
    for (let i = 0; i < 100_000 && refused < 100; i++) {
      payload.writeUInt32LE(sent, 4);
      if (sender.sendLossy(slow.id, payload)) sent++;
      else refused++;
    }
    expect(refused).toBe(100);
    expect(sent).toBeGreaterThan(0);
    expect(sender.queued ?? false).toBe(false);
    // Not for a member that is not there, nor any part of a big one for a full member.
    expect(sender.sendLossy(123456789n, payload)).toBe(false);
    expect(sender.sendLossy(slow.id, Buffer.alloc(4 * 1024 * 1024))).toBe(false);
    slow.resume();
    await slow.must('waitCount', { n: sent, timeoutMs: 20_000 });
    // A regular unicast after them: nothing more arrived, and the receiver was not told of the copies lost.
    payload.writeUInt32LE(sent, 4);
    sender.send(slow.id, payload);
    await slow.must('waitCount', { n: sent + 1, timeoutMs: 20_000 });
    const r = await slow.must('report');
    expect(r.count).toBe(sent + 1);
    expect(r.dropped).toBe(0);
    expect((r.perTag as Record<string, { inOrder: boolean }>)['7']!.inOrder).toBe(true);
  });

  it('lossy: a full receiver loses messages and is told exactly how many', async () => {
    const { sender, slow } = await stalledReceiver({ lossless: false });
    // 16 KiB each: far more than any socket buffer holds while it is stopped.
    const count = scaled(20_000, 2000);
    const payload = Buffer.alloc(16 * 1024);
    payload.writeUInt32LE(5, 0);
    for (let i = 0; i < count; i++) {
      payload.writeUInt32LE(i, 4);
      expect(sender.broadcast(payload)).toBe(true);
    }
    slow.resume();
    // Messages count one each: the account is exact.
    const sent = await flushLossCount(sender, slow, payload, count, (n) => n);
    const r = await slow.must('report');
    expect(r.dropped as number).toBeGreaterThan(0);
    expect((r.count as number) + (r.dropped as number)).toBe(sent);
    const t = (r.perTag as Record<string, { inOrder: boolean; exactDrops: boolean }>)['5']!;
    expect(t.inOrder).toBe(true);
    // Each message's `dropped` equals the gap just before it.
    expect(t.exactDrops).toBe(true);
  });

  it('lossy: a message that lost a fragment is dropped whole and reported', async () => {
    const { sender, slow } = await stalledReceiver({ lossless: false });
    const count = scaled(200, 60);
    // Four or more datagrams each on either backend.
    const payload = Buffer.alloc(512 * 1024 + 100);
    payload.writeUInt32LE(6, 0);
    for (let i = 0; i < count; i++) {
      payload.writeUInt32LE(i, 4);
      payload.writeUInt32LE(i, payload.length - 4);
      sender.broadcast(payload);
    }
    slow.resume();
    const sent = await flushLossCount(sender, slow, payload, count, (n) => n);
    const r = await slow.must('report');
    // Never a partial or mixed-up message.
    expect(r.corrupt).toBe(0);
    expect(r.dropped as number).toBeGreaterThan(0);
    const t = (r.perTag as Record<string, { inOrder: boolean; exactDrops: boolean; n: number }>)['6']!;
    expect(t.inOrder).toBe(true);
    expect(t.n).toBe(r.count);
    if (BACKEND === 'user') {
      // The sender counts messages: exact.
      expect((r.count as number) + (r.dropped as number)).toBe(sent);
      expect(t.exactDrops).toBe(true);
    } else {
      // The kernel counts datagrams: at least one per lost message.
      expect((r.count as number) + (r.dropped as number)).toBeGreaterThanOrEqual(sent);
    }
  });

  it('fragments and reassembles a 64 MiB message', async () => {
    const path = busPath();
    const [a, b, c] = spawn(3);
    await a!.open(path, { backend: BACKEND });
    await b!.open(path, { backend: BACKEND });
    await c!.open(path, { backend: BACKEND });
    await knows(a!, [b!, c!]);
    const size = scaled(64 * 1024 * 1024, 3 * 1024 * 1024);
    const sent = await a!.must('big', { size });
    for (const m of [b!, c!]) {
      const got = (await m.must('lastBig', { timeoutMs: 30_000 })).big as { len: number; sha: string; from: string };
      expect(got).not.toBeNull();
      expect(got.len).toBe(size);
      expect(got.sha).toBe(sent.sha);
      expect(got.from).toBe(String(a!.id));
    }
  });
});
