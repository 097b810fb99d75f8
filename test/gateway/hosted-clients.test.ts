// Stock clients hosted by the gateway's one member: calls between them, and how a native member sees them come, speak and go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../../packages/bus/src/core/index.js';
import { MessageType, type Message } from '../../packages/bus/src/wire/index.js';
import { startTestBus, until, type TestBus } from './helpers.js';
import { RawClient } from './raw-client.js';
import { join } from 'node:path';

let bus: TestBus;
let native: Connection;
const seen: Message[] = [];

beforeAll(async () => {
  bus = await startTestBus();
  native = await connect({ address: bus.busAddress, backend: (process.env.IPNBUS_TEST_BACKEND ?? 'user') as 'user' | 'kernel' });
  native.addMatch("sender='org.freedesktop.DBus',member='NameOwnerChanged'");
  native.addMatch("interface='org.example.FromStock'");
  await native.settle();
  native.on('message', (m: Message) => seen.push(m));
});

afterAll(async () => {
  native?.disconnect();
  await bus?.close();
});

async function stockClient(): Promise<{ c: RawClient; name: string }> {
  const c = await RawClient.connect(join(bus.dir, 'gw.sock'));
  await c.authenticate();
  return { c, name: await c.hello() };
}

const noc = (name: string) => (m: Message): boolean => m.member === 'NameOwnerChanged' && m.body[0] === name;

describe('stock clients hosted by the gateway', () => {
  it('are unique names of the gateway member that native members see join, speak and leave', async () => {
    const { c: a, name: aName } = await stockClient();
    const gwName = bus.gw.connection.uniqueName;
    expect(aName.startsWith(`${gwName}.`)).toBe(true);
    await until(() => seen.some(noc(aName)), 5000, 'NameOwnerChanged for the new client');
    expect(seen.find(noc(aName))!.body).toEqual([aName, '', aName]);
    expect(native.listNames()).toContain(aName);

    a.write(a.encode({ type: MessageType.SIGNAL, path: '/s', interface: 'org.example.FromStock', member: 'Hello', signature: 's', body: ['hi'] }));
    await until(() => seen.some((m) => m.interface === 'org.example.FromStock'), 5000, 'the stock client\'s signal');
    expect(seen.find((m) => m.interface === 'org.example.FromStock')!.sender).toBe(aName);

    a.destroy();
    await until(() => seen.filter(noc(aName)).length === 2, 5000, 'NameOwnerChanged for the client leaving');
    expect(seen.filter(noc(aName))[1]!.body).toEqual([aName, aName, '']);
    expect(native.listNames()).not.toContain(aName);
  });

  it('call each other inside the gateway, each with its own serials and unique name', async () => {
    const { c: a, name: aName } = await stockClient();
    const { c: b, name: bName } = await stockClient();
    try {
      const before = native.stats.received;
      const serial = 7000;
      b.write(b.encode({ type: MessageType.METHOD_CALL, serial, destination: aName, path: '/a', interface: 'org.example.A', member: 'Who', signature: 's', body: ['b asks'] }));
      const call = await a.waitMessage((m) => m.type === MessageType.METHOD_CALL && m.member === 'Who');
      expect(call.sender).toBe(bName);
      expect(call.serial).toBe(serial);
      a.write(a.encode({ type: MessageType.METHOD_RETURN, replySerial: call.serial, destination: call.sender!, signature: 's', body: [`a answers ${call.body[0]}`] }));
      const reply = await b.waitMessage((m) => m.replySerial === serial);
      expect(reply.type).toBe(MessageType.METHOD_RETURN);
      expect(reply.sender).toBe(aName);
      expect(reply.body).toEqual(['a answers b asks']);
      // Neither message crossed the bus: the native member received nothing meanwhile.
      expect(native.stats.received).toBe(before);
      // A sub-id nobody holds: the error a vanished destination gets.
      const gone = `${bus.gw.connection.uniqueName}.999999`;
      const err = await b.call(gone, '/x', 'org.example.X', 'Y');
      expect(err.type).toBe(MessageType.ERROR);
      expect(err.errorName).toBe('org.freedesktop.DBus.Error.ServiceUnknown');
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('the bus driver\'s messages to a client never repeat a serial (Hello reply, NameAcquired, replies)', async () => {
    const { c } = await stockClient();
    try {
      await c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId');
      await c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ListNames');
      const fromBus = c.messages.filter((m) => m.sender === 'org.freedesktop.DBus').map((m) => m.serial);
      expect(fromBus.length).toBeGreaterThanOrEqual(4);
      expect(new Set(fromBus).size).toBe(fromBus.length);
    } finally {
      c.destroy();
    }
  });
});
