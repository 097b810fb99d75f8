// Gateways in separate processes (the `ipnbus gateway` CLI, compiled): stock clients meet across them; kill -9 frees names.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayProcess, run, until } from './helpers.js';
import { IFACE, PATH, SERVICE, servedBusPerFile } from './native-service.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const dbus: any = require('dbus-next');

let child: GatewayProcess;
let childAddress: string;

const served = servedBusPerFile();

beforeAll(async () => {
  child = await GatewayProcess.start(served.bus.busAddress, join(served.bus.dir, 'child.sock'), { backend: 'user' });
  childAddress = child.address!;
});

afterAll(async () => {
  await child?.kill();
});

describe('gateways in other processes', () => {
  it('a stock client of another process\'s gateway reaches the native service with its own credentials', async () => {
    const who = await run('busctl', [`--address=${childAddress}`, 'call', SERVICE, PATH, IFACE, 'WhoAmI']);
    expect(who.stdout.trim()).toMatch(new RegExp(`^uuu ${who.pid} `));
  });

  it('stock clients behind two gateway processes call each other', async () => {
    const service = dbus.sessionBus({ busAddress: served.bus.gw.address });
    class Hi extends dbus.interface.Interface {
      Hi(name: string): string {
        return `hi ${name}`;
      }
    }
    Hi.configureMembers({ methods: { Hi: { inSignature: 's', outSignature: 's' } } });
    service.export('/hi', new Hi('com.example.Hi'));
    try {
      await service.requestName('com.example.Hi', 0);
      const r = await run('gdbus', ['call', '--address', childAddress, '--dest', 'com.example.Hi', '--object-path', '/hi', '--method', 'com.example.Hi.Hi', 'there']);
      expect(r.stdout.trim()).toBe("('hi there',)");
    } finally {
      service.disconnect();
    }
  });

  it('kill -9 of a gateway process frees the names its clients held', async () => {
    const client = dbus.sessionBus({ busAddress: childAddress });
    client.on('error', () => undefined);
    await client.requestName('com.example.Doomed', 0);
    expect(served.svc.conn.getNameOwner('com.example.Doomed')).toBe(client.name);
    const seen: string[][] = [];
    served.svc.conn.on('message', (m: { member?: string; body: unknown[] }) => {
      if (m.member === 'NameOwnerChanged') seen.push(m.body as string[]);
    });
    served.svc.conn.addMatch("type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'");
    await child.kill();
    await until(() => served.svc.conn.getNameOwner('com.example.Doomed') === undefined, 10_000, 'the name to be freed');
    await until(() => seen.some((s) => s[0] === 'com.example.Doomed' && s[2] === ''), 5000, 'NameOwnerChanged');
    expect(served.svc.conn.listNames()).not.toContain(client.name);
  });
});
