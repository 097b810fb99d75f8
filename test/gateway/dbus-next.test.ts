// dbus-next through the gateway, as a client of a native service and as a service for native and stock clients.
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../../packages/bus/src/wire/index.js';
import { run, until } from './helpers.js';
import { IFACE, PATH, SERVICE, servedBusPerFile } from './native-service.js';

// dbus-next is CommonJS without ESM types we rely on: load it as it ships.
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const dbus: any = require('dbus-next');

const NEXT_NAME = 'com.example.Next';
const NEXT_PATH = '/com/example/Next';
const NEXT_IFACE = 'com.example.Next';

class NextIface extends dbus.interface.Interface {
  Add(a: number, b: number): number {
    return a + b;
  }
  Changed(text: string): string {
    return text;
  }
}
NextIface.configureMembers({
  methods: { Add: { inSignature: 'ii', outSignature: 'i' } },
  signals: { Changed: { signature: 's' } },
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let client: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let service: any;
let nextIface: NextIface;

const served = servedBusPerFile();

beforeAll(async () => {
  client = dbus.sessionBus({ busAddress: served.bus.gw.address });
  service = dbus.sessionBus({ busAddress: served.bus.gw.address });
  nextIface = new NextIface(NEXT_IFACE);
  service.export(NEXT_PATH, nextIface);
  await service.requestName(NEXT_NAME, 0);
});

afterAll(async () => {
  client?.disconnect();
  service?.disconnect();
});

/**
 * dbus-next sends its AddMatch calls without waiting for their replies. The
 * gateway handles a client's messages in order, so once a later call from
 * the same client is answered its rules are in force at its member and on
 * their way to the others; a sync round trip from the service to every
 * member proves the service has them too.
 */
async function rulesInForce(): Promise<void> {
  const obj = await client.getProxyObject('org.freedesktop.DBus', '/org/freedesktop/DBus');
  await obj.getInterface('org.freedesktop.DBus').GetId();
  await served.svc.conn.settle();
}

describe('gateway with dbus-next', () => {
  it('a dbus-next client calls a native service through a proxy (introspection included)', async () => {
    const obj = await client.getProxyObject(SERVICE, PATH);
    const iface = obj.getInterface(IFACE);
    expect(await iface.Echo('from dbus-next')).toBe('from dbus-next');
    await expect(iface.Fail()).rejects.toMatchObject({ type: 'com.example.Error.Failed' });
  });

  it('a native client calls a dbus-next service; the name is owned by its gateway member', async () => {
    expect(served.svc.conn.getNameOwner(NEXT_NAME)).toBe(service.name);
    const { reply } = await served.svc.conn.call({ destination: NEXT_NAME, path: NEXT_PATH, interface: NEXT_IFACE, member: 'Add', signature: 'ii', body: [40, 2] });
    expect(reply.body).toEqual([42]);
    expect(reply.sender).toBe(service.name);
    // Unknown methods are answered by dbus-next itself, across the gateway.
    await expect(served.svc.conn.call({ destination: NEXT_NAME, path: NEXT_PATH, interface: NEXT_IFACE, member: 'Nope' })).rejects.toMatchObject({
      name: 'org.freedesktop.DBus.Error.UnknownMethod',
    });
  });

  it('stock to stock: gdbus calls the dbus-next service, both behind the gateway', async () => {
    const r = await run('gdbus', ['call', '--address', served.bus.gw.address, '--dest', NEXT_NAME, '--object-path', NEXT_PATH, '--method', `${NEXT_IFACE}.Add`, '20', '22']);
    expect(r.stdout.trim()).toBe('(42,)');
  });

  it('name ownership is visible both ways', async () => {
    const dbusObj = await client.getProxyObject('org.freedesktop.DBus', '/org/freedesktop/DBus');
    const driver = dbusObj.getInterface('org.freedesktop.DBus');
    expect(await driver.GetNameOwner(SERVICE)).toBe(served.svc.conn.uniqueName);
    expect(await driver.ListNames()).toEqual(expect.arrayContaining([SERVICE, NEXT_NAME, served.svc.conn.uniqueName, service.name]));
    expect(served.svc.conn.listNames()).toEqual(expect.arrayContaining([NEXT_NAME, service.name, client.name]));

    // A native member takes a name: the dbus-next client sees NameOwnerChanged.
    const seen: string[][] = [];
    driver.on('NameOwnerChanged', (name: string, oldOwner: string, newOwner: string) => seen.push([name, oldOwner, newOwner]));
    await rulesInForce();
    await served.svc.conn.requestName('com.example.Second', 0);
    await until(() => seen.some((s) => s[0] === 'com.example.Second'), 5000, 'NameOwnerChanged at dbus-next');
    expect(seen.find((s) => s[0] === 'com.example.Second')).toEqual(['com.example.Second', '', served.svc.conn.uniqueName]);
    expect(await driver.NameHasOwner('com.example.Second')).toBe(true);
    await served.svc.conn.releaseName('com.example.Second');
    expect(await driver.NameHasOwner('com.example.Second')).toBe(false);

    // And the other way: the dbus-next client takes and drops a name.
    // The service learns of it from the name record, a broadcast that may
    // still be on its way when the client has its reply.
    await client.requestName('com.example.FromNext', 0);
    await until(() => served.svc.conn.getNameOwner('com.example.FromNext') === client.name, 5000, 'the service to see the new owner');
    await client.releaseName('com.example.FromNext');
    await until(() => served.svc.conn.getNameOwner('com.example.FromNext') === undefined, 5000, 'the service to see the name released');
  });

  it('signals both ways: native -> dbus-next proxy, dbus-next service -> native match rule', async () => {
    const obj = await client.getProxyObject(SERVICE, PATH);
    const iface = obj.getInterface(IFACE);
    const pings: string[] = [];
    iface.on('Ping', (t: string) => pings.push(t));
    await rulesInForce();
    served.svc.conn.emitSignal(PATH, IFACE, 'Ping', 's', ['native to next']);
    await until(() => pings.includes('native to next'), 5000, 'Ping at dbus-next');

    const got: Message[] = [];
    served.svc.conn.on('message', (m: Message) => {
      if (m.type === MessageType.SIGNAL && m.interface === NEXT_IFACE) got.push(m);
    });
    served.svc.conn.addMatch(`type='signal',sender='${NEXT_NAME}',interface='${NEXT_IFACE}'`);
    await served.svc.conn.settle();
    nextIface.Changed('next to native');
    await until(() => got.length > 0, 5000, 'Changed at the native member');
    expect(got[0]!.member).toBe('Changed');
    expect(got[0]!.body).toEqual(['next to native']);
    expect(got[0]!.sender).toBe(service.name);
    expect(got[0]!.path).toBe(NEXT_PATH);
  });

  it('a vanished dbus-next service fails pending native calls with NoReply', async () => {
    const slow = dbus.sessionBus({ busAddress: served.bus.gw.address });
    let waiting = false;
    class Slow extends dbus.interface.Interface {
      Wait(): Promise<number> {
        waiting = true;
        return new Promise(() => undefined);
      }
    }
    Slow.configureMembers({ methods: { Wait: { outSignature: 'i' } } });
    slow.export('/slow', new Slow('com.example.Slow'));
    await slow.requestName('com.example.Slow', 0);
    const pending = served.svc.conn.call({ destination: 'com.example.Slow', path: '/slow', interface: 'com.example.Slow', member: 'Wait' });
    await until(() => waiting, 5000, 'the call to reach the service');
    slow.disconnect();
    await expect(pending).rejects.toMatchObject({ name: 'org.freedesktop.DBus.Error.NoReply' });
    await until(() => served.svc.conn.getNameOwner('com.example.Slow') === undefined, 5000, 'the name to be freed');
  });
});
