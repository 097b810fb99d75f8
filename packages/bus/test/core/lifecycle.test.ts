// Connection lifecycle: bus creation and mode, unique-name announcements, calls to oneself, disconnect.
import { closeSync, fstatSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, freshBus, type TestBus } from './helpers/bus.js';
import { Member, isNOC } from './helpers/member.js';
import { until } from './helpers/until.js';
import { connect, DBusError, type Connection } from '../../src/core/index.js';
import { MessageType, encodeMessage, type Message } from '../../src/wire/index.js';

let bus: TestBus;
let me: Connection;
const seen: Message[] = [];

beforeAll(async () => {
  bus = freshBus('life');
  me = await connect({ address: bus.address, backend: BACKEND, mode: 0o750 });
  me.addMatch("sender='org.freedesktop.DBus',member='NameOwnerChanged'");
  me.on('message', (m: Message) => seen.push(m));
});

afterAll(() => {
  me?.disconnect();
  bus?.cleanup();
});

describe('connection lifecycle', () => {
  it('creates the bus directory with the requested mode and a bus id', () => {
    expect(statSync(bus.path).mode & 0o777).toBe(0o750);
    expect(statSync(join(bus.path, 'bus-id')).isFile()).toBe(true);
    expect(me.uniqueName).toMatch(/^:1\.\d+$/);
    expect(me.uniqueName).toBe(`:1.${me.memberId}`);
  });

  it('creates missing parents, and fails cleanly where none can be made (/proc)', async () => {
    const nested = join(dirname(bus.path), 'parents', 'a', 'b', 'bus');
    const c = await connect({ address: `ipnbus:path=${nested}`, backend: BACKEND });
    c.disconnect();
    expect(statSync(nested).isDirectory()).toBe(true);
    // mkdir under /proc answers ENOENT below an existing parent, where a
    // recursive mkdirSync loops for ever: this must fail at once instead.
    const err = await connect({ address: 'ipnbus:path=/proc/ipnbus-none/bus', backend: BACKEND }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DBusError);
    expect((err as DBusError).message).toMatch(/\/proc\/ipnbus-none.*ENOENT/);
  });

  it('announces unique names of members that join and leave, also killed ones', async () => {
    const m = await Member.start(bus.address);
    expect(m.busId).toBe(me.busId);
    await until(() => seen.some((x) => isNOC(m.uniqueName)(x)));
    expect(seen.filter(isNOC(m.uniqueName)).map((x) => x.body)).toEqual([[m.uniqueName, '', m.uniqueName]]);
    expect(me.listNames()).toContain(m.uniqueName);
    expect(me.getCredentials(m.uniqueName)?.pid).toBe(m.pid);
    await m.kill('SIGKILL');
    await until(() => seen.filter(isNOC(m.uniqueName)).length === 2);
    expect(seen.filter(isNOC(m.uniqueName)).at(-1)!.body).toEqual([m.uniqueName, m.uniqueName, '']);
    expect(me.listNames()).not.toContain(m.uniqueName);
    expect(me.getNameOwner(m.uniqueName)).toBeUndefined();
  });

  it('calls itself by unique and well-known name', async () => {
    const onCall = ({ msg }: { msg: Message }): void => me.reply(msg, 's', [`self:${msg.member}`]);
    me.on('methodCall', onCall);
    try {
      await me.requestName('org.example.Myself', 0);
      for (const destination of [me.uniqueName, 'org.example.Myself']) {
        const { reply } = await me.call({ destination, path: '/me', interface: 'org.example.Self', member: 'Who' });
        expect(reply.body).toEqual(['self:Who']);
        expect(reply.sender).toBe(me.uniqueName);
      }
    } finally {
      me.off('methodCall', onCall);
    }
  });

  it('passes its own copy of each fd when calling itself', async () => {
    const file = join(bus.path, 'self-fd.txt');
    writeFileSync(file, 'to myself');
    const fd = openSync(file, 'r');
    const onCall = ({ msg, fds }: { msg: Message; fds: number[] }): void => {
      const buf = Buffer.alloc(32);
      const n = readSync(fds[0]!, buf, 0, 32, 0);
      closeSync(fds[0]!);
      me.reply(msg, 'sb', [buf.subarray(0, n).toString(), fds[0] !== fd]);
    };
    me.on('methodCall', onCall);
    try {
      const { reply } = await me.call(
        { destination: me.uniqueName, path: '/me', interface: 'org.example.Self', member: 'Fd', signature: 'h', body: [0] },
        { fds: [fd] },
      );
      expect(reply.body).toEqual(['to myself', true]);
      // Ours is still open: the receiver closed its own copy.
      expect(fstatSync(fd).isFile()).toBe(true);
    } finally {
      me.off('methodCall', onCall);
      closeSync(fd);
    }
  });

  it('rejects bad input with typed errors and never sends it', async () => {
    expect(() => me.send({ type: MessageType.METHOD_CALL, path: '/x', member: 'M' })).toThrow(DBusError);
    expect(() => me.emitSignal('not a path', 'a.b', 'C', '', [])).toThrow(DBusError);
    expect(() => me.emitSignal('/p', 'a.b', 'C', 's', [5])).toThrow(DBusError);
    expect(() => me.addMatch("member='x.y'")).toThrow(DBusError);
    await expect(me.call({ destination: 'bad..name', path: '/', member: 'M' })).rejects.toBeInstanceOf(DBusError);
    await expect(connect({ address: 'tcp:host=x', backend: BACKEND })).rejects.toMatchObject({
      name: 'org.freedesktop.DBus.Error.BadAddress',
    });
    await expect(me.call({ destination: me.uniqueName, path: '/', member: 'M' }, { timeoutMs: -1 })).rejects.toMatchObject({
      name: 'org.freedesktop.DBus.Error.InvalidArgs',
    });
    await expect(me.requestName(42 as unknown as string)).rejects.toMatchObject({ name: 'org.freedesktop.DBus.Error.InvalidArgs' });
    expect(() => me.addMatch(null as unknown as string)).toThrow(DBusError);
  });

  it('BecomeMonitor delivers every broadcast without match rules', async () => {
    const mon = await connect({ address: bus.address, backend: BACKEND });
    const m = await Member.start(bus.address);
    try {
      const got: Message[] = [];
      mon.on('message', (x: Message) => got.push(x));
      await mon.call({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus.Monitoring',
        member: 'BecomeMonitor',
        signature: 'asu',
        body: [[], 0],
      });
      await mon.settle();
      await m.do('emit', '/any', 'org.example.Anything', 'Seen', '', []);
      await until(() => got.some((x) => x.member === 'Seen'));
      expect(got.find((x) => x.member === 'Seen')!.sender).toBe(m.uniqueName);
    } finally {
      mon.disconnect();
      await m.stop();
    }
  });

  it('survives garbage and forged name records from a peer', async () => {
    const m = await Member.start(bus.address);
    try {
      const target = BigInt(m.uniqueName.slice(3));
      me.network.send(target, Buffer.from('not a D-Bus message at all'));
      me.network.broadcast(Buffer.alloc(40, 0x6c));
      // A record for an invalid name, and one that would make us the owner of
      // a name we never asked for: the directory says otherwise.
      const forged = (name: string, version: bigint): Buffer =>
        encodeMessage({
          type: MessageType.SIGNAL, flags: 0, serial: 9, path: '/org/ipnbus/Core', interface: 'org.ipnbus.Core',
          member: 'NameRecord', signature: 'sta(tu)', body: [name, version, [[me.memberId, 0]]],
        });
      me.network.send(target, forged(':1.bogus', 1n));
      me.network.send(target, forged('org.example.Forged', 5n));
      // Still answering: the member did not crash on any of it, and believed none of it.
      expect(await m.do('listNames')).not.toContain(':1.bogus');
      expect(await m.do('getNameOwner', 'org.example.Forged')).toBeNull();
      // A real change afterwards is seen as usual.
      const m2 = await Member.start(bus.address);
      try {
        expect(await m2.do('requestName', 'org.example.Forged', 0)).toBe(1);
        await until(async () => (await m.do('getNameOwner', 'org.example.Forged')) === m2.uniqueName);
      } finally {
        await m2.stop();
      }
    } finally {
      await m.stop();
    }
  });

  it('fails pending calls with Disconnected and refuses use after disconnect', async () => {
    const other = await connect({ address: bus.address, backend: BACKEND });
    const m = await Member.start(bus.address);
    try {
      await m.do('serve');
      const pending = other.call({ destination: m.uniqueName, path: '/', interface: 'org.example.Test', member: 'Never' });
      const events: string[] = [];
      other.on('disconnect', () => events.push('disconnect'));
      other.disconnect();
      await expect(pending).rejects.toMatchObject({ name: 'org.freedesktop.DBus.Error.Disconnected' });
      expect(events).toEqual(['disconnect']);
      expect(() => other.emitSignal('/a', 'a.b', 'C', '', [])).toThrow(DBusError);
      other.disconnect(); // idempotent
    } finally {
      await m.stop();
    }
  });
});
