// The Network conformance suite: every backend must pass it unchanged. Runs
// the backend named by IPNBUS_TEST_BACKEND (user by default; kernel inside
// the VM), with real member processes talking over the real transport.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, Member, scaled } from './member.js';
import { open, TransportError, MAX_MESSAGE_BYTES, type Network } from '../src/index.js';

let root: string;
let members: Member[] = [];
let nets: Network[] = [];
let n = 0;

function busPath(): string {
  return join(root, `bus${++n}`);
}

function spawn(count: number, opts: { uid?: number; gid?: number } = {}): Member[] {
  const out = Array.from({ length: count }, () => new Member(opts));
  members.push(...out);
  return out;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ipnbus-conf-'));
  // Other uids must reach the bus paths for the access tests to mean
  // anything: the bus's own mode is then what decides.
  chmodSync(root, 0o755);
});

afterEach(async () => {
  await Promise.all(members.map((m) => m.kill('SIGKILL')));
  members = [];
  for (const net of nets) net.close();
  nets = [];
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Polls `cond` every 10 ms; throws naming `what` after `ms`. */
async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves once `m` lists every one of `others` among its members. */
async function knows(m: Member, others: Member[]): Promise<void> {
  await until(async () => {
    const listed = ((await m.must('members')).members as { id: string }[]).map((x) => x.id);
    return others.every((o) => listed.includes(String(o.id)));
  }, 15_000, 'the members to know each other');
}

/** Opens a network in this process (for API-level checks). */
async function local(path: string, opts: Parameters<typeof open>[1] = {}): Promise<Network> {
  const net = await open(path, { backend: BACKEND, ...opts });
  nets.push(net);
  return net;
}

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

describe(`Network conformance (${BACKEND} backend)`, () => {
  it('broadcast reaches every other member exactly once, in one order for all', async () => {
    const path = busPath();
    const ms = spawn(4);
    for (const m of ms) await m.open(path, { backend: BACKEND, loopback: true });
    const per = scaled(2000, 100);
    for (const m of ms) await m.must('record', { keepList: true });
    // Concurrent senders: each blasts its own tagged sequence.
    await Promise.all(ms.map((m, i) => m.must('blast', { count: per, size: 64, tag: i + 1 })));
    await Promise.all(ms.map((m) => m.must('waitCount', { n: per * ms.length, timeoutMs: 30_000 })));
    const reports = await Promise.all(ms.map((m) => m.must('report')));
    for (const r of reports) {
      expect(r.count).toBe(per * ms.length);
      const perTag = r.perTag as Record<string, { n: number; inOrder: boolean; from: string }>;
      for (let i = 0; i < ms.length; i++) {
        expect(perTag[i + 1]!.n).toBe(per);
        expect(perTag[i + 1]!.inOrder).toBe(true);
        expect(perTag[i + 1]!.from).toBe(String(ms[i]!.id));
      }
    }
    // One total order: every member's delivery sequence hashes the same.
    expect(new Set(reports.map((r) => r.hash)).size).toBe(1);
  });

  it('unicast reaches only its destination, with the sender id and credentials', async () => {
    const path = busPath();
    const [a, b, c] = spawn(3);
    await a!.open(path, { backend: BACKEND });
    await b!.open(path, { backend: BACKEND });
    await c!.open(path, { backend: BACKEND });
    await knows(a!, [b!]);
    const s = await a!.must('unicast', { to: String(b!.id), text: 'for b only' });
    expect(s.sent).toBe(true);
    let got = null as null | { from: string; text: string; creds: { pid: number; uid: number } };
    for (const end = Date.now() + 15_000; got === null && Date.now() < end;) {
      got = (await b!.must('lastUnicast')).msg as typeof got;
      if (got === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(got).not.toBeNull();
    expect(got!.text).toBe('for b only');
    expect(got!.from).toBe(String(a!.id));
    expect(got!.creds.pid).toBe(a!.pid);
    expect(got!.creds.uid).toBe(process.getuid!());
    expect((await c!.must('lastUnicast')).msg).toBeNull();
    // A member that does not exist is a clear, typed error.
    const bad = await a!.must('unicast', { to: '999999', text: 'nobody' });
    expect(bad.sent).toBe(false);
    expect(bad.code).toBe('EHOSTUNREACH');
  });

  it('passes fds with a unicast', async () => {
    const path = busPath();
    const [a, b] = spawn(2);
    await a!.open(path, { backend: BACKEND });
    await b!.open(path, { backend: BACKEND });
    await knows(a!, [b!]);
    const s = await a!.must('unicast', { to: String(b!.id), text: 'here is a file', fdText: 'contents via SCM_RIGHTS' });
    expect(s).toMatchObject({ sent: true });
    let got = null as null | { fdContent: string | null; nfds: number };
    for (const end = Date.now() + 15_000; got === null && Date.now() < end;) {
      got = (await b!.must('lastUnicast')).msg as typeof got;
      if (got === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(got!.nfds).toBe(1);
    expect(got!.fdContent).toBe('contents via SCM_RIGHTS');
  });

  it('join and leave, including SIGKILL; ids are never reused', async () => {
    const path = busPath();
    const [a, b] = spawn(2);
    await a!.must('watch');
    await a!.open(path, { backend: BACKEND });
    await b!.open(path, { backend: BACKEND });
    const jb = await a!.waitEvent((e) => e.ev === 'join' && e.id === String(b!.id));
    expect(jb.pid).toBe(b!.pid);
    const [c] = spawn(1);
    await c!.must('watch');
    await c!.open(path, { backend: BACKEND });
    // The newcomer learns the existing members as joins (the snapshot).
    await c!.waitEvent((e) => e.ev === 'join' && e.id === String(a!.id));
    await c!.waitEvent((e) => e.ev === 'join' && e.id === String(b!.id));
    await a!.waitEvent((e) => e.ev === 'join' && e.id === String(c!.id));
    const ids = [a!.id, b!.id, c!.id];
    expect(new Set(ids).size).toBe(3);
    await c!.kill('SIGKILL');
    const lc = await a!.waitEvent((e) => e.ev === 'leave' && e.id === String(c!.id));
    expect(lc.pid).toBe(c!.pid);
    await b!.must('close');
    await a!.waitEvent((e) => e.ev === 'leave' && e.id === String(b!.id));
    const mem = (await a!.must('members')).members as { id: string }[];
    expect(mem).toEqual([]);
    const [d] = spawn(1);
    await d!.open(path, { backend: BACKEND });
    for (const old of ids) expect(d!.id > old).toBe(true);
  });

  it('a 0700 network refuses another uid; a 0777 one admits it with its credentials', async () => {
    const closed = busPath();
    const owner = await local(closed, { mode: 0o700 });
    expect(owner.id > 0n).toBe(true);
    const [nobody] = spawn(1, { uid: 65534, gid: 65534 });
    const r = await nobody!.call('open', { path: closed, opts: { backend: BACKEND } });
    expect(r.ok).toBe(false);
    expect(r.code).toBe('EACCES');

    const openBus = busPath();
    const host = await local(openBus, { mode: 0o777 });
    const joined = new Promise<{ uid: number; pid: number }>((resolve) => host.once('join', resolve));
    const [guest] = spawn(1, { uid: 65534, gid: 65534 });
    await guest!.open(openBus, { backend: BACKEND });
    const info = await joined;
    expect(info.uid).toBe(65534);
    expect(info.pid).toBe(guest!.pid);
  });

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
    // Not for a member that is not there, nor past one datagram.
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

  it('bad input gives clear typed errors', async () => {
    const path = busPath();
    const net = await local(path);
    expect(() => net.send(123456789n, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EHOSTUNREACH' }));
    expect(() => net.broadcast(Buffer.alloc(4), Buffer.alloc(3))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => net.setFilter([Buffer.alloc(5)])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => net.broadcast('text' as unknown as Uint8Array)).toThrow(TransportError);
    // Oversize: a view claiming more than the limit, without allocating it.
    const huge = { length: MAX_MESSAGE_BYTES + 1 } as unknown as Uint8Array;
    Object.setPrototypeOf(huge, Uint8Array.prototype);
    expect(() => net.broadcast(huge)).toThrow(expect.objectContaining({ code: 'EMSGSIZE' }));
    net.close();
    net.close();
    expect(() => net.broadcast(Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(() => net.send(1n, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    const file = join(root, 'not-a-bus');
    writeFileSync(file, 'x');
    await expect(open(file)).rejects.toMatchObject({ code: 'ERR_BAD_NETWORK' });
    await expect(open(join(root, 'absent'), { create: false })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(open('')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    const other = BACKEND === 'user' ? 'kernel' : 'user';
    await expect(open(path, { backend: other })).rejects.toMatchObject({ code: 'ERR_BAD_NETWORK' });
  });
});
