// The gateway without the native socket driver (unixFds: false): node:net I/O, no fd passing, same bus semantics.
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../packages/bus/src/wire/index.js';
import { run, until } from './helpers.js';
import { IFACE, PATH, SERVICE, servedBusPerFile } from './native-service.js';
import { hexUid, RawClient } from './raw-client.js';


const served = servedBusPerFile(undefined, false);

describe('gateway on node:net (no fd passing)', () => {
  it('refuses NEGOTIATE_UNIX_FD with ERROR and still lets the client BEGIN', async () => {
    const c = await RawClient.connect(`${served.bus.dir}/gw.sock`);
    c.write(`\0AUTH EXTERNAL ${hexUid()}\r\nNEGOTIATE_UNIX_FD\r\n`);
    await c.waitText(/^OK [0-9a-f]{32}\r\nERROR [^\r]*\r\n$/);
    c.begin();
    // Served after BEGIN: Hello gets its unique name.
    expect(await c.hello()).toMatch(/^:\d+\.\d+\.\d+$/);
    expect(c.closed).toBe(false);
    c.destroy();
  });

  it('serves stock clients: calls, credentials, signals from a client that exits at once', async () => {
    const echo = await run('gdbus', ['call', '--address', served.bus.gw.address, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.Echo`, 'over node:net']);
    expect(echo.stdout.trim()).toBe("('over node:net',)");
    const who = await run('busctl', [`--address=${served.bus.gw.address}`, 'call', SERVICE, PATH, IFACE, 'WhoAmI']);
    expect(who.stdout.trim()).toMatch(new RegExp(`^uuu ${who.pid} `));
    served.svc.conn.addMatch(`type='signal',interface='${IFACE}',member='Bye'`);
    const before = served.svc.signals.length;
    const r = await run('dbus-send', [`--bus=${served.bus.gw.address}`, '--type=signal', PATH, `${IFACE}.Bye`, 'string:last words']);
    expect(r.code).toBe(0);
    await until(() => served.svc.signals.length > before, 5000, 'the last signal of an exiting client');
    expect(served.svc.signals.at(-1)!.body).toEqual(['last words']);
  });

  it('a gdbus call passing an fd fails cleanly, and the gateway carries on', async () => {
    const r = await run('gdbus', ['call', '--address', served.bus.gw.address, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.ReadFd`, '@h 0']);
    expect(r.code).not.toBe(0);
    const c = await RawClient.connect(`${served.bus.dir}/gw.sock`);
    await c.authenticate();
    await c.hello();
    const reply = await c.call(SERVICE, PATH, IFACE, 'Echo', 's', ['after']);
    expect(reply.type, `${reply.errorName}: ${String(reply.body[0])}`).toBe(MessageType.METHOD_RETURN);
    expect(reply.body).toEqual(['after']);
    c.destroy();
  });
});
