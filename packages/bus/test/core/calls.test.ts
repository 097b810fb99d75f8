// Method calls between processes: replies, errors, timeouts, vanished callees, fds, spoofing, the bus driver.
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member } from './helpers/member.js';
import { startServerFixture, type ServerFixture } from './helpers/server-fixture.js';
import { DBusError, type Connection } from '../../src/core/index.js';
import { MessageType, encodeMessage, type Message } from '../../src/wire/index.js';

const T = { path: '/org/example/Test', interface: 'org.example.Test' };
const BUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };

let fixture: ServerFixture;
let me: Connection;
let server: Member;
let scratch: string;

async function errorOf(p: Promise<unknown>): Promise<DBusError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DBusError);
  return e as DBusError;
}

beforeAll(async () => {
  fixture = await startServerFixture('calls');
  ({ me, server, scratch } = fixture);
});

afterAll(async () => {
  await fixture?.close();
});

describe('method calls', () => {
  it('round-trips a call by well-known and by unique name', async () => {
    const body = ['text', 42, 7n, Buffer.from([1, 2, 3])];
    for (const destination of ['org.example.Server', server.uniqueName]) {
      const { reply } = await me.call({ ...T, destination, member: 'Echo', signature: 'sutay', body });
      expect(reply.type).toBe(MessageType.METHOD_RETURN);
      expect(reply.sender).toBe(server.uniqueName);
      expect(reply.body).toEqual(body);
    }
  });

  it('turns ERROR replies into DBusError with the remote name', async () => {
    const e = await errorOf(me.call({ ...T, destination: 'org.example.Server', member: 'Fail' }));
    expect(e.name).toBe('org.example.Error.Failed');
    expect(e.message).toBe('it failed on purpose');
    expect(e.reply?.type).toBe(MessageType.ERROR);
  });

  it('answers UnknownMethod for calls nobody handles, and Peer on any path', async () => {
    const e = await errorOf(me.call({ ...T, destination: 'org.example.Server', member: 'Nope' }));
    expect(e.name).toBe('org.freedesktop.DBus.Error.UnknownMethod');
    // A member with no methodCall listener: the core falls back by itself.
    const { reply: ping } = await server.do<{ reply: Message }>('call', {
      destination: me.uniqueName,
      path: '/any/where',
      interface: 'org.freedesktop.DBus.Peer',
      member: 'Ping',
    });
    expect(ping.type).toBe(MessageType.METHOD_RETURN);
    const { reply: mid } = await me.call({
      destination: server.uniqueName,
      path: '/x',
      interface: 'org.freedesktop.DBus.Peer',
      member: 'GetMachineId',
    });
    expect(mid.body[0]).toMatch(/^[0-9a-f]{32}$/);
    const e2 = await errorOf(
      server.do('call', { destination: me.uniqueName, path: '/o', interface: 'org.example.X', member: 'Y' }).catch((x: { remote: { name: string; message: string } }) => {
        throw new DBusError(x.remote.name, x.remote.message);
      }),
    );
    expect(e2.name).toBe('org.freedesktop.DBus.Error.UnknownMethod');
  });

  it('gives ServiceUnknown for names nobody owns', async () => {
    for (const destination of ['org.example.Nobody', ':1.999999']) {
      const e = await errorOf(me.call({ ...T, destination, member: 'Echo' }));
      expect(e.name).toBe('org.freedesktop.DBus.Error.ServiceUnknown');
    }
    expect(() => me.send({ type: MessageType.METHOD_CALL, ...T, destination: 'org.example.Nobody', member: 'X' })).toThrow(
      DBusError,
    );
  });

  it('times out with NoReply', async () => {
    const t0 = Date.now();
    const e = await errorOf(me.call({ ...T, destination: 'org.example.Server', member: 'Never' }, { timeoutMs: 300 }));
    expect(e.name).toBe('org.freedesktop.DBus.Error.NoReply');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const { reply } = await me.call(
      { ...T, destination: 'org.example.Server', member: 'Slow', signature: 'u', body: [100] },
      { timeoutMs: 5000 },
    );
    expect(reply.body).toEqual(['late']);
  });

  it('times out calls that share a timeout length each at its own deadline (one timer for them all)', async () => {
    const t0 = Date.now();
    const first = errorOf(me.call({ ...T, destination: 'org.example.Server', member: 'Never' }, { timeoutMs: 400 }));
    // Answered before its deadline: it leaves the timer's calls without firing anything.
    const { reply } = await me.call({ ...T, destination: 'org.example.Server', member: 'Slow', signature: 'u', body: [100] }, { timeoutMs: 400 });
    expect(reply.body).toEqual(['late']);
    const t1 = Date.now();
    const second = errorOf(me.call({ ...T, destination: 'org.example.Server', member: 'Never' }, { timeoutMs: 400 }));
    expect((await first).name).toBe('org.freedesktop.DBus.Error.NoReply');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    // The timer that failed the first is armed again for the second's own deadline, not failing it early.
    expect((await second).name).toBe('org.freedesktop.DBus.Error.NoReply');
    expect(Date.now() - t1).toBeGreaterThanOrEqual(390);
  });

  it('fails pending calls with NoReply when the callee vanishes', async () => {
    const victim = await Member.start(fixture.bus.address);
    await victim.do('serve');
    // errorOf attaches the handler now: the rejection comes while we wait for the kill.
    const pending = errorOf(me.call({ ...T, destination: victim.uniqueName, member: 'Never' }, { timeoutMs: 20000 }));
    const t0 = Date.now();
    // Killed while it holds the call.
    await victim.waitFor((m) => m.member === 'Never');
    await victim.kill('SIGKILL');
    const e = await pending;
    expect(e.name).toBe('org.freedesktop.DBus.Error.NoReply');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('honours NO_REPLY_EXPECTED: the callee sends nothing back', async () => {
    const before = me.stats.received;
    const res = await me.call({ ...T, destination: 'org.example.Server', member: 'Echo', signature: 's', body: ['x'] }, { noReply: true });
    expect(res.reply.replySerial).toBeGreaterThan(0);
    // A following call's reply arrives, and it is the only message received.
    await me.call({ ...T, destination: 'org.example.Server', member: 'Echo', signature: 's', body: ['y'] });
    expect(me.stats.received - before).toBe(1);
  });

  it('passes unix fds with a call and with a reply', async () => {
    const file = join(scratch, 'in.txt');
    writeFileSync(file, 'hello through an fd');
    const fd = openSync(file, 'r');
    try {
      const { reply } = await me.call(
        { ...T, destination: 'org.example.Server', member: 'ReadFd', signature: 'h', body: [0] },
        { fds: [fd] },
      );
      expect(reply.body[0]).toBe('hello through an fd');
    } finally {
      closeSync(fd);
    }
    const { reply, fds } = await me.call({ ...T, destination: 'org.example.Server', member: 'GiveFd', signature: 's', body: [join(scratch, 'out.txt')] });
    expect(reply.unixFds).toBe(1);
    expect(fds).toHaveLength(1);
    const buf = Buffer.alloc(64);
    const n = readSync(fds[0]!, buf, 0, 64, 0);
    closeSync(fds[0]!);
    expect(buf.subarray(0, n).toString()).toBe('from the callee');
  });

  it('corrects a SENDER that claims to be someone else', async () => {
    const forged: Message = {
      type: MessageType.METHOD_CALL,
      flags: 0,
      serial: 77,
      ...T,
      member: 'WhoAmI',
      destination: 'org.example.Server',
      sender: 'org.example.Server',
      signature: '',
      body: [],
    };
    const got = new Promise<Message>((resolve) => {
      me.on('message', function on(m: Message) {
        if (m.replySerial === 77 && m.type === MessageType.METHOD_RETURN) {
          me.off('message', on);
          resolve(m);
        }
      });
    });
    // Straight onto the transport, past Connection.send which would set SENDER itself.
    me.network.send(BigInt(server.uniqueName.slice(3)), encodeMessage(forged));
    const reply = await got;
    expect(reply.body[0]).toBe(me.uniqueName);
    expect(reply.sender).toBe(server.uniqueName);
  });
});

describe('org.freedesktop.DBus answered locally', () => {
  const busCall = (member: string, signature = '', body: unknown[] = []): Promise<Message> =>
    me.call({ ...BUS, member, signature, body }).then((r) => r.reply);

  it('Hello, GetId, ListNames, NameHasOwner, GetNameOwner, ListActivatableNames', async () => {
    expect((await busCall('Hello')).body).toEqual([me.uniqueName]);
    const id = (await busCall('GetId')).body[0] as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(server.busId).toBe(id);
    const names = (await busCall('ListNames')).body[0] as string[];
    expect(names).toEqual(expect.arrayContaining(['org.freedesktop.DBus', me.uniqueName, server.uniqueName, 'org.example.Server']));
    expect((await busCall('NameHasOwner', 's', ['org.example.Server'])).body).toEqual([true]);
    expect((await busCall('NameHasOwner', 's', ['org.example.Nobody'])).body).toEqual([false]);
    expect((await busCall('GetNameOwner', 's', ['org.example.Server'])).body).toEqual([server.uniqueName]);
    // The bus first, then whatever the session service directories provide.
    const activatable = (await busCall('ListActivatableNames')).body[0] as string[];
    expect(activatable[0]).toBe('org.freedesktop.DBus');
    expect(activatable.slice(1)).toEqual([...activatable.slice(1)].sort());
    const e = await errorOf(busCall('GetNameOwner', 's', ['org.example.Nobody']));
    expect(e.name).toBe('org.freedesktop.DBus.Error.NameHasNoOwner');
  });

  it('credentials of other members come from the transport', async () => {
    expect((await busCall('GetConnectionUnixProcessID', 's', ['org.example.Server'])).body).toEqual([server.pid]);
    expect((await busCall('GetConnectionUnixUser', 's', [server.uniqueName])).body).toEqual([process.getuid!()]);
    const creds = (await busCall('GetConnectionCredentials', 's', [server.uniqueName])).body[0] as Record<string, { value: unknown }>;
    expect(creds.ProcessID!.value).toBe(server.pid);
    expect(creds.UnixUserID!.value).toBe(process.getuid!());
  });

  it('StartServiceByName, AddMatch/RemoveMatch errors, wrong args, properties', async () => {
    expect((await busCall('StartServiceByName', 'su', ['org.example.Server', 0])).body).toEqual([2]);
    expect((await errorOf(busCall('StartServiceByName', 'su', ['org.example.Nobody', 0]))).name).toBe(
      'org.freedesktop.DBus.Error.ServiceUnknown',
    );
    expect((await errorOf(busCall('AddMatch', 's', ["type='nonsense'"]))).name).toBe('org.freedesktop.DBus.Error.MatchRuleInvalid');
    expect((await errorOf(busCall('RemoveMatch', 's', ["member='NeverAdded'"]))).name).toBe(
      'org.freedesktop.DBus.Error.MatchRuleNotFound',
    );
    expect((await errorOf(busCall('RequestName', 's', ['org.example.X']))).name).toBe('org.freedesktop.DBus.Error.InvalidArgs');
    expect((await errorOf(busCall('NoSuchMethod'))).name).toBe('org.freedesktop.DBus.Error.UnknownMethod');
    const { reply } = await me.call({
      ...BUS,
      interface: 'org.freedesktop.DBus.Properties',
      member: 'Get',
      signature: 'ss',
      body: ['org.freedesktop.DBus', 'Features'],
    });
    expect(reply.signature).toBe('v');
    const { reply: xml } = await me.call({ ...BUS, interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' });
    expect(xml.body[0]).toContain('<method name="RequestName">');
  });

  it('RequestName through a bus call gives the same replies', async () => {
    expect((await busCall('RequestName', 'su', ['org.example.ViaCall', 0])).body).toEqual([1]);
    expect((await busCall('RequestName', 'su', ['org.example.ViaCall', 0])).body).toEqual([4]);
    expect((await busCall('ReleaseName', 's', ['org.example.ViaCall'])).body).toEqual([1]);
  });
});
