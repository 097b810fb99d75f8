// Interop with stock D-Bus software through the gateway: dbus-next and
// gdbus use objects exported with this API, and this API's proxies use an
// object exported by dbus-next.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { connect, defineInterface, type MessageBus } from 'ipnbus';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { backend, startServiceBus, type ServiceBus } from './helpers.js';
import { until } from '../core/helpers/until.js';

const run = promisify(execFile);
const NAME = 'com.example.Things';
const A = '/org/example/things/a';
let bus: MessageBus;
let gw: Gateway;
let client: dbus.MessageBus;
let sb: ServiceBus;

beforeAll(async () => {
  sb = await startServiceBus();
  bus = sb.bus;
  const sock = join(sb.dir, 'gw.sock');
  gw = await startGateway({ listen: `unix:path=${sock}`, busAddress: sb.address, backend });
  client = dbus.sessionBus({ busAddress: gw.address });
});

afterAll(async () => {
  client?.disconnect();
  await gw?.close();
  await sb?.close();
});

describe('stock clients on API-exported objects', () => {
  it('dbus-next introspects, calls, reads properties and gets signals', async () => {
    const obj = await client.getProxyObject(NAME, A);
    const t = obj.getInterface('com.example.Test1');
    expect(await t['Multi']!('abc', 21)).toEqual(['ABC', 42]);
    await expect(t['Fail']!('from dbus-next')).rejects.toMatchObject({ type: 'com.example.Error.Custom', text: 'from dbus-next' });
    const props = obj.getInterface('org.freedesktop.DBus.Properties');
    const v = await props['Get']!('com.example.Test1', 'Fixed');
    expect(v.signature).toBe('x');
    expect(v.value).toBe(-42n);
    const got = new Promise<string>((res) => t.once('Pinged', res));
    await t['Emit']!('to dbus-next');
    expect(await got).toBe('to dbus-next');
  });

  it('gdbus introspects the object tree', async () => {
    const { stdout } = await run('gdbus', ['introspect', '--address', gw.address, '--dest', NAME, '--object-path', '/org/example', '--recurse']);
    expect(stdout).toContain('interface com.example.Test1');
    expect(stdout).toContain('node /org/example/things/b');
    expect(stdout).toContain('readwrite s Name');
  });
});

describe('API proxies on a dbus-next service', () => {
  it('typed proxy calls, property access and signals', async () => {
    const { Interface } = dbus.interface;
    // dbus-next's service API without decorators: configure members by hand.
    class Svc extends Interface {
      Level = 3;
      Greet(who: string): string {
        return `hi ${who}`;
      }
      Ping(text: string): string {
        return text;
      }
    }
    Svc.configureMembers({
      methods: { Greet: { inSignature: 's', outSignature: 's' } },
      properties: { Level: { signature: 'u', access: 'readwrite' } },
      signals: { Ping: { signature: 's' } },
    });
    const svc = new Svc('com.example.FromNext1');
    await client.requestName('com.example.FromNext', 0);
    client.export('/next', svc);
    const Def = defineInterface('com.example.FromNext1', {
      methods: { Greet: { in: 's', out: 's' } },
      properties: { Level: { type: 'u', access: 'readwrite' } },
      signals: { Ping: 's' },
    });
    await until(() => bus.connection.getNameOwner('com.example.FromNext') !== undefined, 5000, "dbus-next's name to reach the bus");
    const p = Def.proxy(bus, 'com.example.FromNext', '/next');
    expect(await p.Greet('ipnbus')).toBe('hi ipnbus');
    expect(await p.getProperty('Level')).toBe(3);
    await p.setProperty('Level', 9);
    expect(svc.Level).toBe(9);
    const pinged = new Promise<string>((res) => p.once('Ping', res));
    const timer = setInterval(() => svc.Ping('from next'), 100);
    try {
      expect(await pinged).toBe('from next');
    } finally {
      clearInterval(timer);
    }
    // Dynamic proxy from dbus-next's own introspection XML.
    const obj = await bus.getProxyObject('com.example.FromNext', '/next');
    expect(await obj.getInterface('com.example.FromNext1').call('Greet', 'again')).toBe('hi again');
  });
});
