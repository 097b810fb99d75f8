// The Network conformance suite, delivery (see conformance-setup.ts): one
// order for every broadcast, unicasts with credentials and fds, joins and
// leaves, the network's access mode, and typed errors for bad input.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKEND, scaled } from './member.js';
import { conformanceSetup, knows, until } from './conformance-setup.js';
import { open, TransportError, MAX_MESSAGE_BYTES } from '../src/index.js';

const { root, busPath, spawn, local } = conformanceSetup();

describe(`Network conformance: delivery (${BACKEND} backend)`, () => {
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
    await until(async () => (got = (await b!.must('lastUnicast')).msg as typeof got) !== null, 15_000, 'the unicast to reach b');
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
    await until(async () => (got = (await b!.must('lastUnicast')).msg as typeof got) !== null, 15_000, 'the unicast to reach b');
    expect(got!.nfds).toBe(1);
    expect(got!.fdContent).toBe('contents via SCM_RIGHTS');
  });

  it('sendLossy: a message of many datagrams arrives whole, with its fds (a monitor\'s copy of a big call passing a file)', async () => {
    const path = busPath();
    const [a, b] = spawn(2);
    await a!.open(path, { backend: BACKEND });
    await b!.open(path, { backend: BACKEND });
    await knows(a!, [b!]);
    // 300 KiB: past one datagram on both backends (user 64 KiB, AF_IPN its MTU of at least 128 KiB).
    const text = Array.from({ length: 300 }, (_, i) => `${i}`.padStart(1024, '.')).join('');
    const s = await a!.must('unicast', { to: String(b!.id), text, fdText: 'a copy keeps its fds', lossy: true });
    expect(s).toMatchObject({ sent: true });
    let got = null as null | { text: string; fdContent: string | null; nfds: number };
    await until(async () => (got = (await b!.must('lastUnicast')).msg as typeof got) !== null, 15_000, 'the lossy unicast to reach b');
    expect(got!.text.length).toBe(text.length);
    expect(got!.text === text).toBe(true);
    expect(got!.nfds).toBe(1);
    expect(got!.fdContent).toBe('a copy keeps its fds');
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
    const file = join(root(), 'not-a-bus');
    writeFileSync(file, 'x');
    await expect(open(file)).rejects.toMatchObject({ code: 'ERR_BAD_NETWORK' });
    await expect(open(join(root(), 'absent'), { create: false })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(open('')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    const other = BACKEND === 'user' ? 'kernel' : 'user';
    await expect(open(path, { backend: other })).rejects.toMatchObject({ code: 'ERR_BAD_NETWORK' });
  });
});
