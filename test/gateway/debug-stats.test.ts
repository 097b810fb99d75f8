// org.freedesktop.DBus.Debug.Stats through the gateway, as stock tools call it on dbus-daemon.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Variant } from '../../packages/bus/src/wire/index.js';
import { run, startTestBus } from './helpers.js';
import { RawClient } from './raw-client.js';
import { SERVICE, servedBusPerFile } from './native-service.js';


const served = servedBusPerFile();

const stats = (method: string, ...args: string[]): ReturnType<typeof run> =>
  run('gdbus', ['call', '--address', served.bus.gw.address, '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus',
    '--method', `org.freedesktop.DBus.Debug.Stats.${method}`, ...args]);

describe('Debug.Stats', () => {
  it('GetStats counts the members and names of the bus', async () => {
    const r = await stats('GetStats');
    expect(r.stderr).toBe('');
    // The service, the gateway's member, the gdbus client it hosts, and the
    // service's well-known name.
    expect(r.stdout).toMatch(/'ActiveConnections': <uint32 3>/);
    expect(r.stdout).toMatch(/'BusNames': <uint32 4>/);
    expect(r.stdout).toMatch(/'Serial': <uint32 \d+>/);
  });

  it('GetConnectionStats: the unique name and names of any member; message and rule counts of the caller\'s own', async () => {
    const other = await stats('GetConnectionStats', SERVICE);
    expect(other.stderr).toBe('');
    expect(other.stdout).toContain(`'UniqueName': <'${served.svc.conn.uniqueName}'>`);
    expect(other.stdout).toMatch(/'BusNames': <uint32 1>/);
    expect(other.stdout).not.toContain('IncomingMessages');
    // A client asking about its own connection gets its member's counts too.
    const c = await RawClient.connect(join(served.bus.dir, 'gw.sock'));
    await c.authenticate();
    const me = await c.hello();
    await c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', ["type='signal',member='X'"]);
    // One message out through the member (driver calls are answered inside it).
    await c.call(SERVICE, '/com/example/Native', 'com.example.Native', 'Echo', 's', ['counted']);
    const own = await c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Debug.Stats', 'GetConnectionStats', 's', [me]);
    const fields = own.body[0] as Record<string, Variant>;
    expect(fields.UniqueName!.value).toBe(me);
    expect(fields.MatchRules!.value).toBe(1);
    expect(fields.OutgoingMessages!.value).toBeGreaterThan(0);
    expect(typeof fields.IncomingMessages!.value).toBe('number');
    c.destroy();
    const missing = await stats('GetConnectionStats', 'com.example.Nobody');
    expect(missing.stderr).toContain('org.freedesktop.DBus.Error.NameHasNoOwner');
  });

  it('the bus lists the interface and introspects it', async () => {
    const r = await run('busctl', [`--address=${served.bus.gw.address}`, 'get-property', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Interfaces']);
    expect(r.stdout).toContain('"org.freedesktop.DBus.Debug.Stats"');
    const i = await run('busctl', [`--address=${served.bus.gw.address}`, 'introspect', 'org.freedesktop.DBus', '/org/freedesktop/DBus', '--no-pager']);
    expect(i.stdout).toMatch(/\.GetConnectionStats\s+method\s+s\s+a\{sv\}/);
  });
});
