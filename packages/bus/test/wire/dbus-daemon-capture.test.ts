// Messages captured between dbus-next and a real dbus-daemon decode, frame by frame, to what dbus-next sent and received.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { decodeMessage, encodeMessage, FrameReader, MessageType, type Message } from '../../src/wire/index.js';

const require = createRequire(import.meta.url);
// dbus-next's public CommonJS API, typed only as far as this test uses it.
interface DnMessage extends Record<string, unknown> { serial: number; body: unknown[]; signature: string; sender: string }
interface DnBus {
  name: string | null;
  on(ev: 'message', f: (m: DnMessage) => void): void;
  requestName(name: string, flags: number): Promise<number>;
  call(m: unknown): Promise<DnMessage | null>;
  send(m: unknown): void;
  addMethodHandler(f: (m: DnMessage) => boolean): void;
  disconnect(): void;
}
const dbus = require('dbus-next') as {
  sessionBus(o: { busAddress: string }): DnBus;
  Message: { new (o: Record<string, unknown>): unknown; newMethodReturn(m: DnMessage, s: string, b: unknown[]): unknown; newError(m: DnMessage, n: string, t: string): unknown; newSignal(p: string, i: string, n: string, s: string, b: unknown[]): unknown };
  Variant: new (s: string, v: unknown) => unknown;
};

/** One proxied connection: the bytes each way, in arrival chunks. */
interface Capture { up: Buffer[]; down: Buffer[] }

let dir: string;
let daemon: ChildProcess;
let proxy: net.Server;
const captures: Capture[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ipnbus-wire-'));
  const daemonPath = join(dir, 'daemon.sock');
  daemon = spawn('dbus-daemon', ['--session', `--address=unix:path=${daemonPath}`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    daemon.once('error', reject);
    daemon.stdout!.once('data', () => resolve());
  });
  // The capturing proxy: pipes both ways and records every chunk.
  proxy = net.createServer((client) => {
    const cap: Capture = { up: [], down: [] };
    captures.push(cap);
    const upstream = net.connect(daemonPath);
    client.on('data', (d) => { cap.up.push(d); upstream.write(d); });
    upstream.on('data', (d) => { cap.down.push(d); client.write(d); });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(join(dir, 'proxy.sock'), resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  daemon.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** The message bytes of one direction: client side after 'BEGIN\r\n', daemon side after its auth reply lines. */
function messageBytes(chunks: Buffer[], side: 'up' | 'down'): Buffer[] {
  const all = Buffer.concat(chunks);
  let start: number;
  if (side === 'up') {
    start = all.indexOf('BEGIN\r\n') + 'BEGIN\r\n'.length;
  } else {
    start = 0;
    // Auth replies (OK, AGREE_UNIX_FD, ...) are lines; a message starts with 'l' or 'B'.
    while (all[start] !== 0x6c && all[start] !== 0x42) start = all.indexOf('\r\n', start) + 2;
  }
  // Keep the original chunk boundaries after the auth phase, so the reader sees real splits.
  const out: Buffer[] = [];
  let at = 0;
  for (const c of chunks) {
    const from = Math.max(start - at, 0);
    if (from < c.length) out.push(c.subarray(from));
    at += c.length;
  }
  return out;
}

function frames(chunks: Buffer[]): { raw: Buffer[]; msgs: Message[] } {
  const reader = new FrameReader();
  const raw = chunks.flatMap((c) => reader.pushRaw(c));
  expect(reader.pending).toBe(0);
  return { raw, msgs: raw.map((f) => decodeMessage(f)) };
}

/** Our decoding and dbus-next's agree on every header field and the body. */
function expectSame(ours: Message, theirs: DnMessage): void {
  for (const k of ['type', 'flags', 'serial'] as const) expect(ours[k], k).toBe(theirs[k]);
  // dbus-next leaves absent fields undefined or empty; we leave them undefined.
  for (const k of ['path', 'interface', 'member', 'errorName', 'replySerial', 'destination', 'sender', 'signature'] as const) {
    expect(ours[k] || undefined, k).toEqual((theirs[k] as unknown) || undefined);
  }
  expect(ours.body).toEqual(theirs.body ?? []);
}

describe('traffic captured from a real dbus-daemon', () => {
  it('decodes Hello, method calls with varied types, replies, errors and signals', async () => {
    const address = `unix:path=${join(dir, 'proxy.sock')}`;
    const service = dbus.sessionBus({ busAddress: address });
    const caller = dbus.sessionBus({ busAddress: address });
    const seen = new Map<DnBus, DnMessage[]>([[service, []], [caller, []]]);
    for (const [bus, list] of seen) bus.on('message', (m) => list.push(m));
    try {
      expect(await service.requestName('org.ipnbus.WireTest', 4)).toBe(1);
      service.addMethodHandler((m) => {
        if (m.interface !== 'org.ipnbus.WireTest') return false;
        if (m.member === 'Echo') service.send(dbus.Message.newMethodReturn(m, m.signature, m.body));
        else service.send(dbus.Message.newError(m, 'org.ipnbus.WireTest.Error.Nope', 'it failed: ünïcode'));
        return true;
      });
      const V = dbus.Variant;
      const signature = 'ybnqiuxtdsogaya{sv}(ias)av';
      const body = [
        255, true, -300, 65000, -70000, 4000000000, -(2n ** 62n), 2n ** 63n + 5n, Math.PI, 'héllo ✓', '/a/b', 'a{sv}',
        Buffer.from([0, 1, 2, 254]), { x: new V('s', 'y'), n: new V('a{sv}', { deep: new V('t', 7n) }) }, [-1, ['p', 'q']],
        [new V('b', false), new V('(dd)', [1.5, -2.5])],
      ];
      const call = (member: string) => caller.call(new dbus.Message({
        destination: 'org.ipnbus.WireTest', path: '/org/ipnbus/WireTest', interface: 'org.ipnbus.WireTest', member, signature, body,
      }));
      const reply = await call('Echo');
      expect(reply!.body).toEqual(body);
      await expect(call('Fail')).rejects.toThrow(/it failed/);
      await caller.call(new dbus.Message({
        destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch',
        signature: 's', body: ["type='signal',interface='org.ipnbus.WireTest'"],
      }));
      const gotSignal = new Promise<void>((resolve) => caller.on('message', (m) => { if (m.member === 'Ping') resolve(); }));
      service.send(dbus.Message.newSignal('/org/ipnbus/WireTest', 'org.ipnbus.WireTest', 'Ping', 'sa{sv}', ['hi', { k: new V('ai', [1, 2, 3]) }]));
      await gotSignal;
      // A round trip through the daemon so every byte above has passed the proxy.
      await caller.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' }));
      await service.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' }));
    } finally {
      service.disconnect();
      caller.disconnect();
    }

    expect(captures).toHaveLength(2);
    let sawError = 0;
    let sawSignal = 0;
    let sawEchoCall = 0;
    for (const cap of captures) {
      const up = frames(messageBytes(cap.up, 'up'));
      const down = frames(messageBytes(cap.down, 'down'));
      // The first thing every client sends is Hello; the daemon answers with its unique name.
      expect(up.msgs[0]).toMatchObject({ type: MessageType.METHOD_CALL, member: 'Hello', destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus' });
      const helloReply = down.msgs.find((m) => m.replySerial === up.msgs[0]!.serial)!;
      expect(helloReply.type).toBe(MessageType.METHOD_RETURN);
      expect(helloReply.sender).toBe('org.freedesktop.DBus');
      expect(helloReply.body[0]).toMatch(/^:1\.\d+$/);
      // Client-sent frames were written by dbus-next: our encoder reproduces them byte for byte.
      up.raw.forEach((raw, i) => expect(encodeMessage(up.msgs[i]!).equals(raw), `frame ${i}`).toBe(true));
      // Daemon-sent frames: whatever order the daemon writes fields in, our decoding equals dbus-next's, message by message.
      const bus = helloReply.body[0] === service.name ? service : caller;
      const theirs = seen.get(bus)!;
      expect(down.msgs.length).toBe(theirs.length);
      down.msgs.forEach((m, i) => expectSame(m, theirs[i]!));
      for (const m of down.raw) expect(decodeMessage(encodeMessage(decodeMessage(m))).body).toEqual(decodeMessage(m).body);
      for (const m of [...up.msgs, ...down.msgs]) {
        if (m.type === MessageType.ERROR && m.errorName === 'org.ipnbus.WireTest.Error.Nope') {
          expect(m.body).toEqual(['it failed: ünïcode']);
          sawError++;
        }
        if (m.type === MessageType.SIGNAL && m.member === 'Ping') {
          expect(m.body[0]).toBe('hi');
          expect(m.body[1]).toMatchObject({ k: { signature: 'ai', value: [1, 2, 3] } });
          sawSignal++;
        }
        if (m.member === 'Echo') {
          expect(m.signature).toBe('ybnqiuxtdsogaya{sv}(ias)av');
          expect(m.body[6]).toBe(-(2n ** 62n));
          expect(m.body[7]).toBe(2n ** 63n + 5n);
          expect((m.body[12] as Buffer).equals(Buffer.from([0, 1, 2, 254]))).toBe(true);
          sawEchoCall++;
        }
      }
    }
    // Error and signal each seen going up (service) and coming down (caller); the Echo call likewise.
    expect(sawError).toBe(2);
    expect(sawSignal).toBe(2);
    expect(sawEchoCall).toBe(2);
  });

  it('dbus-daemon (libdbus validation) accepts our big- and little-endian messages, 64-bit values included, and echoes them back', async () => {
    const sock = net.connect(join(dir, 'daemon.sock'));
    const reader = new FrameReader();
    const inbox: Message[] = [];
    let authed = false;
    let authBuf = '';
    const waiters: (() => void)[] = [];
    sock.on('data', (d: Buffer) => {
      let chunk = d;
      if (!authed) {
        authBuf += d.toString('latin1');
        const nl = authBuf.indexOf('\r\n');
        if (nl < 0) return;
        expect(authBuf.startsWith('OK ')).toBe(true);
        authed = true;
        chunk = Buffer.from(authBuf.slice(nl + 2), 'latin1');
        sock.write('BEGIN\r\n');
        waiters.splice(0).forEach((w) => w());
      }
      inbox.push(...reader.push(chunk));
      waiters.splice(0).forEach((w) => w());
    });
    const until = async <T>(f: () => T | undefined): Promise<T> => {
      for (;;) {
        const v = f();
        if (v !== undefined) return v;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    try {
      const uid = Buffer.from(String(process.getuid!())).toString('hex');
      sock.write(`\0AUTH EXTERNAL ${uid}\r\n`);
      await until(() => (authed ? true : undefined));
      let serial = 0;
      const send = (m: Omit<Message, 'serial' | 'flags'>, endian: 'little' | 'big') => {
        const msg = { flags: 0, serial: ++serial, ...m };
        sock.write(encodeMessage(msg, { endian }));
        return msg.serial;
      };
      const call = (member: string, signature: string, body: unknown[], endian: 'little' | 'big') => send({
        type: MessageType.METHOD_CALL, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus', member, signature, body,
      }, endian);
      const replyTo = (s: number) => until(() => inbox.find((m) => m.replySerial === s));

      const hello = await replyTo(call('Hello', '', [], 'big'));
      expect(hello.type).toBe(MessageType.METHOD_RETURN);
      const me = hello.body[0] as string;
      expect(me).toMatch(/^:1\.\d+$/);
      const owner = await replyTo(call('NameHasOwner', 's', ['org.freedesktop.DBus'], 'big'));
      expect(owner.body).toEqual([true]);
      await replyTo(call('AddMatch', 's', ["type='signal',interface='org.ipnbus.Endian'"], 'little'));

      const V = (await import('../../src/wire/index.js')).Variant;
      const body = [-(2n ** 63n), 2n ** 64n - 1n, -1.25, 'é', [1, -2, 3], { a: new V('x', -5n), b: new V('(tn)', [7n, -7]) }, Buffer.from([1, 2])];
      for (const endian of ['big', 'little'] as const) {
        const member = endian === 'big' ? 'Big' : 'Little';
        send({ type: MessageType.SIGNAL, path: '/e', interface: 'org.ipnbus.Endian', member, signature: 'xtdsaia{sv}ay', body }, endian);
        const back = await until(() => inbox.find((m) => m.member === member));
        expect(back.sender).toBe(me);
        expect(back.body).toEqual(body);
      }
      // A message libdbus must refuse: a boolean 2. The daemon drops the connection.
      const bad = encodeMessage({ type: MessageType.SIGNAL, flags: 0, serial: ++serial, path: '/e', interface: 'org.ipnbus.Endian', member: 'Bad', signature: 'b', body: [true] }, { endian: 'big' });
      bad[bad.length - 1] = 2;
      const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
      sock.write(bad);
      await closed;
      expect(inbox.find((m) => m.member === 'Bad')).toBeUndefined();
    } finally {
      sock.destroy();
    }
  });
});
