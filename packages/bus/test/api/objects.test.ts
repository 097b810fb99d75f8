// Exported objects across processes: a service child exports com.example.Test1
// objects; this process calls them through typed and dynamic proxies and
// checks types, fds, errors, properties, signals, Introspect, ObjectManager.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { openSync, writeFileSync, readFileSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, defineInterface, Variant, DBusError, MessageType, parseIntrospection, type MessageBus } from 'ipnbus';
import { Test1 } from './fixtures/defs.mjs';
import { backend, nextEvent, startServiceBus, type Child, type ServiceBus } from './helpers.js';
import { until } from '../core/helpers/until.js';

const NAME = 'com.example.Things';
const A = '/org/example/things/a';
let bus: MessageBus;
let child: Child;
let sb: ServiceBus;
let scratch: string;

beforeAll(async () => {
  sb = await startServiceBus();
  ({ bus, child } = sb);
  scratch = mkdtempSync(join(tmpdir(), 'ipnbus-fds-'));
  // The test creates the bus (picking the backend); the child joins it.
});

afterAll(async () => {
  await sb?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * `trigger` once our new match rules are in force at every member
 * (`proxy.sync()`; the emitter learns them one hop later on the user
 * backend), then `done`: one trigger must be enough.
 */
async function afterSync<T>(proxy: { sync(): Promise<void> }, done: Promise<T>, trigger: () => unknown): Promise<T> {
  await proxy.sync();
  await trigger();
  return done;
}

describe('typed proxy calls', () => {
  it('round-trips every basic and container type', async () => {
    const p = Test1.proxy(bus, NAME, A);
    const args = [
      255, true, -32768, 65535, -2147483648, 4294967295, -(2n ** 63n), 2n ** 64n - 1n, 3.25, 'héllo', '/a/b', 'a{sv}',
      Buffer.from([0, 1, 254]), ['s', { k: new Variant('as', ['x', 'y']), n: new Variant('(ib)', [1, false]) }], { 7: 'seven', 4294967295: 'max' },
      [['a'], [], ['b', 'c']], { outer: { i: 5n } },
    ] as const;
    const got = (await p.Types(...(args as unknown as Parameters<typeof p.Types>))) as unknown[];
    expect(got).toHaveLength(17);
    expect(got.slice(0, 12)).toEqual(args.slice(0, 12));
    expect(Buffer.from(got[12] as Buffer)).toEqual(args[12]);
    expect(got[13]).toEqual(args[13]);
    expect(got[14]).toEqual({ 7: 'seven', 4294967295: 'max' });
    expect(got[15]).toEqual(args[15]);
    expect(got[16]).toEqual({ outer: { i: 5n } });
  });

  it('unwraps one out value, returns several as an array, nothing as undefined', async () => {
    const p = Test1.proxy(bus, NAME, A);
    expect(await p.Multi('abc', 21)).toEqual(['ABC', 42]);
    expect(await p.Nothing()).toBeUndefined();
    const v = (await p.Echo(new Variant('a{sv}', { deep: new Variant('v', new Variant('t', 9n)) }))) as Variant;
    expect(v.signature).toBe('a{sv}');
    expect(((v.value as Record<string, Variant>)['deep']!.value as Variant).value).toBe(9n);
  });

  it('passes unix fds both ways', async () => {
    const p = Test1.proxy(bus, NAME, A);
    const file = join(scratch, 'in.txt');
    writeFileSync(file, 'through an fd');
    const fd = openSync(file, 'r');
    try {
      expect(await p.FdRead(fd)).toBe('through an fd');
    } finally {
      closeSync(fd);
    }
    const got = await p.FdOpen('made by the service');
    expect(typeof got).toBe('number');
    expect(got).toBeGreaterThan(2);
    expect(readFileSync(got, 'utf8')).toBe('made by the service');
    closeSync(got);
  });

  it('tells the service who called', async () => {
    const [sender, pid] = await Test1.proxy(bus, NAME, A).WhoAmI();
    expect(sender).toBe(bus.name);
    expect(pid).toBe(process.pid);
  });

  it('rejects bad arguments locally, before anything is sent', async () => {
    const p = Test1.proxy(bus, NAME, A);
    await expect((p.Multi as (...a: unknown[]) => Promise<unknown>)('x', 'not a number')).rejects.toThrow(/argument 1 \(n\): expected int32/);
  });
});

describe('errors', () => {
  async function errorOf(pr: Promise<unknown>): Promise<DBusError> {
    const e = await pr.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(DBusError);
    return e as DBusError;
  }

  it('maps service failures and routing misses to D-Bus error names', async () => {
    const p = Test1.proxy(bus, NAME, A);
    const custom = await errorOf(p.Fail('custom text'));
    expect(custom.name).toBe('com.example.Error.Custom');
    expect(custom.message).toBe('custom text');
    expect((await errorOf(p.Crash())).name).toBe('org.freedesktop.DBus.Error.Failed');
    expect((await errorOf(p.Crash())).message).toContain('the implementation broke');
    expect((await errorOf(p.BadReturn())).name).toBe('org.freedesktop.DBus.Error.Failed');
    const c = bus.connection;
    const call = (over: Record<string, unknown>) =>
      errorOf(c.call({ destination: NAME, path: A, interface: 'com.example.Test1', member: 'Multi', signature: 'si', body: ['a', 1], ...over }));
    expect((await call({ signature: 's', body: ['a'] })).name).toBe('org.freedesktop.DBus.Error.InvalidArgs');
    expect((await call({ member: 'Nope' })).name).toBe('org.freedesktop.DBus.Error.UnknownMethod');
    expect((await call({ interface: 'com.example.Nope' })).name).toBe('org.freedesktop.DBus.Error.UnknownInterface');
    expect((await call({ path: '/no/such/object' })).name).toBe('org.freedesktop.DBus.Error.UnknownObject');
    // Inner nodes and the root are only there to be introspected.
    expect((await call({ path: '/' })).name).toBe('org.freedesktop.DBus.Error.UnknownObject');
    expect((await call({ path: '/org', interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: ['x.y'] })).name).toBe(
      'org.freedesktop.DBus.Error.UnknownObject',
    );
    expect((await call({ destination: 'com.example.Nobody' })).name).toBe('org.freedesktop.DBus.Error.ServiceUnknown');
  });

  it('a reply that breaks the declared types is an InvalidSignature error', async () => {
    const Stale = defineInterface('com.example.Test1', {
      methods: { Multi: { in: 'si', out: 'ss' } },
      properties: { Name: { type: 'u' }, Level: { type: 'd', access: 'readwrite' } },
    });
    const p = Stale.proxy(bus, NAME, A);
    const e1 = await errorOf(p.Multi('a', 1));
    expect(e1.name).toBe('org.freedesktop.DBus.Error.InvalidSignature');
    expect(e1.message).toContain("replied 'si', declared 'ss'");
    expect((await errorOf(p.getProperty('Name'))).name).toBe('org.freedesktop.DBus.Error.InvalidSignature');
    expect((await errorOf(p.getAllProperties())).name).toBe('org.freedesktop.DBus.Error.InvalidSignature');
    expect(await p.getProperty('Level')).toBeTypeOf('number');
  });

  it('maps property misuse to D-Bus error names', async () => {
    const p = Test1.proxy(bus, NAME, A);
    const dyn = p as unknown as { getProperty(n: string): Promise<unknown>; setProperty(n: string, v: unknown): Promise<void> };
    expect((await errorOf(dyn.getProperty('Nope'))).name).toBe('org.freedesktop.DBus.Error.UnknownProperty');
    expect((await errorOf(dyn.setProperty('Count', 3))).name).toBe('org.freedesktop.DBus.Error.PropertyReadOnly');
    expect((await errorOf(dyn.getProperty('Secret'))).name).toBe('org.freedesktop.DBus.Error.AccessDenied');
    const c = bus.connection;
    const set = (v: Variant) =>
      errorOf(c.call({ destination: NAME, path: A, interface: 'org.freedesktop.DBus.Properties', member: 'Set', signature: 'ssv', body: ['com.example.Test1', 'Name', v] }));
    expect((await set(new Variant('u', 1))).name).toBe('org.freedesktop.DBus.Error.InvalidArgs');
  });
});

describe('properties', () => {
  it('Get, Set, GetAll, and PropertiesChanged for values and invalidations', async () => {
    const p = Test1.proxy(bus, NAME, A);
    expect(await p.getProperty('Name')).toBe('initial');
    expect(await p.getProperty('Fixed')).toBe(-42n);
    const all = await p.getAllProperties();
    expect(all).toMatchObject({ Name: 'initial', Level: 0.5, Fixed: -42n });
    expect(all).not.toHaveProperty('Secret');

    const changed = nextEvent<[Record<string, unknown>, string[]]>(p, 'PropertiesChanged');
    await afterSync(p, changed, () => p.setProperty('Name', `renamed`));
    expect((await changed)[0]).toEqual({ Name: 'renamed' });
    expect(await p.getProperty('Name')).toBe('renamed');

    const inval = nextEvent<[Record<string, unknown>, string[]]>(p, 'PropertiesChanged');
    await p.setProperty('Level', 0.75);
    expect(await inval).toEqual([{}, ['Level']]);

    // A change made inside the service (not through Set) is announced too.
    const fromService = nextEvent<[Record<string, unknown>, string[]]>(p, 'PropertiesChanged');
    await p.sync(); // the trigger below is not a bus call, so make sure the rule arrived
    await child.command('set', A, 'Name', 'set by service');
    expect((await fromService)[0]).toEqual({ Name: 'set by service' });
    p.close();
  });

  it('after sync() the very next change arrives, with no retry', async () => {
    const p = Test1.proxy(bus, NAME, '/org/example/things/b');
    const changed = nextEvent<[Record<string, unknown>, string[]]>(p, 'PropertiesChanged');
    await p.sync();
    await child.command('set', '/org/example/things/b', 'Name', 'once');
    expect(await changed).toEqual([{ Name: 'once' }, []]);
    p.close();
  });

  it('the dynamic org.freedesktop.DBus.Properties interface returns variants', async () => {
    const obj = await bus.getProxyObject(NAME, A);
    const props = obj.getInterface('org.freedesktop.DBus.Properties');
    const v = (await props.call('Get', 'com.example.Test1', 'Level')) as Variant;
    expect(v).toBeInstanceOf(Variant);
    expect(v.signature).toBe('d');
  });
});

describe('signals', () => {
  it('arrive as events; the match rule lives as long as a listener', async () => {
    const p = Test1.proxy(bus, NAME, A);
    const rulesBefore = bus.signals.activeRules().length;
    const got = nextEvent<[string]>(p, 'Pinged');
    const counts: [number, bigint][] = [];
    p.on('Counted', (n, m) => counts.push([n, m]));
    await afterSync(p, got, () => p.Emit('ping!'));
    expect(await got).toEqual(['ping!']);
    await until(() => counts.length > 0, 1000, 'Counted');
    expect(counts[0]![0]).toBeGreaterThan(0);
    expect(counts[0]![1]).toBe(-1n);
    // The once() listener for Pinged is gone, and its rule with it; Counted's stays.
    expect(bus.signals.activeRules().length).toBe(rulesBefore + 1);
    expect(bus.signals.activeRules().some((r) => r.includes("member='Pinged'"))).toBe(false);
    expect(bus.signals.activeRules().some((r) => r.includes("member='Counted'"))).toBe(true);
    p.close();
    expect(bus.signals.activeRules().length).toBe(rulesBefore);
  });

  it('only signals from the named sender and path reach a proxy', async () => {
    const other = Test1.proxy(bus, NAME, '/org/example/things/b');
    const seen: string[] = [];
    other.on('Pinged', (t) => seen.push(t));
    const a = Test1.proxy(bus, NAME, A);
    const fromA = nextEvent<[string]>(a, 'Pinged');
    await afterSync(a, fromA, () => a.Emit('to a'));
    // The same signal emitted locally, from another sender, at b's path:
    bus.connection.emitSignal('/org/example/things/b', 'com.example.Test1', 'Pinged', 's', ['forged']);
    const fromB = nextEvent<[string]>(other, 'Pinged');
    await afterSync(other, fromB, () => other.Emit('to b'));
    // No wait needed: 'to a' arrived before fromA resolved and the local
    // 'forged' is dispatched in the next turn, long before 'to b' is back.
    expect(seen.every((s) => s === 'to b')).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    a.close();
    other.close();
  });
});

describe('Introspectable', () => {
  it('describes exported interfaces and child nodes', async () => {
    const root = await bus.getProxyObject(NAME, '/');
    expect(root.nodes).toEqual(['/org']);
    const ex = await bus.getProxyObject(NAME, '/org/example');
    expect(ex.nodes).toEqual(['/org/example/things']);
    expect(Object.keys(ex.interfaces)).toContain('org.freedesktop.DBus.ObjectManager');
    const things = await bus.getProxyObject(NAME, '/org/example/things');
    expect(things.nodes).toEqual(['/org/example/things/a', '/org/example/things/b']);
    const b = await bus.getProxyObject(NAME, '/org/example/things/b');
    expect(Object.keys(b.interfaces).sort()).toEqual([
      'com.example.Extra1', 'com.example.Test1', 'org.freedesktop.DBus.Introspectable', 'org.freedesktop.DBus.Peer', 'org.freedesktop.DBus.Properties',
    ]);
    expect(await b.getInterface('com.example.Extra1').call('Hello')).toBe('hello');
    // The XML itself parses back to what the definition says.
    const { reply } = await bus.connection.call({ destination: NAME, path: A, interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect', signature: '', body: [] });
    const node = parseIntrospection(reply.body[0] as string);
    expect(node.interfaces.find((i) => i.name === 'com.example.Test1')).toEqual(Test1.info);
    expect(() => b.getInterface('com.example.Missing')).toThrow(DBusError);
  });

  it('dynamic proxies call methods and deliver signals like dbus-next', async () => {
    const obj = await bus.getProxyObject(NAME, A);
    const t = obj.getInterface('com.example.Test1') as unknown as Record<string, (...a: unknown[]) => Promise<unknown>> & import('ipnbus').ProxyInterface;
    expect(await t['Multi']!('dyn', 2)).toEqual(['DYN', 4]);
    const got = nextEvent<[string]>(t, 'Pinged');
    await afterSync(t, got, () => t['Emit']!('dynamic'));
    expect(await got).toEqual(['dynamic']);
    obj.close();
  });
});

describe('ObjectManager', () => {
  it('GetManagedObjects lists objects below it; InterfacesAdded/Removed follow exports', async () => {
    const om = (await bus.getProxyObject(NAME, '/org/example')).getInterface('org.freedesktop.DBus.ObjectManager');
    const managed = (await om.call('GetManagedObjects')) as Record<string, Record<string, Record<string, Variant>>>;
    expect(Object.keys(managed).sort()).toEqual([A, '/org/example/things/b']);
    expect(Object.keys(managed['/org/example/things/b']!).sort()).toEqual(['com.example.Extra1', 'com.example.Test1']);
    expect(managed[A]!['com.example.Test1']!['Fixed']).toEqual(new Variant('x', -42n));

    const added = nextEvent<[string, Record<string, Record<string, Variant>>]>(om, 'InterfacesAdded');
    const removals: [string, string[]][] = [];
    om.on('InterfacesRemoved', (...a: unknown[]) => removals.push(a as [string, string[]]));
    await om.sync();
    const path = '/org/example/things/c';
    await child.command('add', path);
    const [addedPath, ifaces] = await added;
    expect(addedPath).toBe(path);
    expect(Object.keys(ifaces)).toEqual(['com.example.Test1']);
    expect(ifaces['com.example.Test1']!['Name']!.value).toBe('initial');

    await child.command('remove', path);
    await until(() => removals.length > 0, 5000, 'InterfacesRemoved');
    expect(removals).toEqual([[path, ['com.example.Test1']]]);
    const after = (await om.call('GetManagedObjects')) as Record<string, unknown>;
    expect(after).not.toHaveProperty(path);
    om.close();
  });
});

describe('the bus driver, typed', () => {
  it('answers org.freedesktop.DBus calls and reports NameOwnerChanged', async () => {
    const d = bus.driver();
    expect(await d.GetNameOwner(NAME)).toBe(child.name);
    expect(await d.ListNames()).toContain(NAME);
    expect(await d.GetConnectionUnixProcessID(child.name)).toBe(child.pid);
    const changes: [string, string, string][] = [];
    d.on('NameOwnerChanged', (name, oldOwner, newOwner) => changes.push([name, oldOwner, newOwner]));
    expect(await child.command('request', 'com.example.Second')).toEqual({ ok: 'request', result: 1 });
    await until(() => changes.some(([n]) => n === 'com.example.Second'), 5000, 'NameOwnerChanged for com.example.Second');
    expect(changes).toContainEqual(['com.example.Second', '', child.name]);
    d.close();
  });
});

describe('exporting from this process', () => {
  it('answers calls through addMethodHandler and exported objects; no-reply methods', async () => {
    const other = await connect({ address: sb.address, backend });
    try {
      const seen: string[] = [];
      bus.addMethodHandler(({ msg }) => {
        if (msg.member !== 'Raw') return false;
        seen.push(msg.sender ?? '');
        bus.connection.reply(msg, 's', ['raw reply']);
        return true;
      });
      const reply = await other.call({ destination: bus.name, path: '/anything', interface: 'x.y', member: 'Raw', signature: '', body: [] });
      expect(reply.type).toBe(MessageType.METHOD_RETURN);
      expect(reply.body).toEqual(['raw reply']);
      expect(seen).toEqual([other.name]);

      // A typed object exported here, called from the other connection;
      // a noReply method resolves without waiting and still runs.
      const Local = defineInterface('com.example.Local1', {
        methods: { Fire: { in: [['what', 's']], noReply: true }, Sum: { in: 'at', out: 't' } },
      });
      const fired: string[] = [];
      bus.export('/local', Local.implement({ Fire: (w) => void fired.push(w), Sum: (xs) => xs.reduce((a, b) => a + b, 0n) }));
      const lp = Local.proxy(other, bus.name, '/local');
      expect(await lp.Fire('and forget')).toBeUndefined();
      expect(await lp.Sum([1n, 2n, 2n ** 40n])).toBe(3n + 2n ** 40n);
      expect(fired).toEqual(['and forget']); // the call was ordered before Sum
      expect(bus.introspect('/')).toContain('<node name="local"/>');
      bus.unexport('/local');
      await expect(lp.Sum([])).rejects.toMatchObject({ name: 'org.freedesktop.DBus.Error.UnknownObject' });
    } finally {
      other.disconnect();
    }
  });
});
