// org.freedesktop.DBus as a stock client sees it through the gateway: Hello rules, matches, flags, monitors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageFlags, MessageType } from '../../packages/bus/src/wire/index.js';
import { until } from './helpers.js';
import { servedBusPerFile } from './native-service.js';
import { RawClient } from './raw-client.js';

const D = ['org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus'] as const;
let c: RawClient;
let name: string;

const served = servedBusPerFile();

beforeAll(async () => {
  c = await RawClient.connect(`${served.bus.dir}/gw.sock`);
  await c.authenticate();
  name = await c.hello();
});

afterAll(async () => {
  c?.destroy();
});

describe('bus driver through the gateway', () => {
  it('Hello gives a unique name and NameAcquired; a second Hello is an error', async () => {
    expect(name).toMatch(/^:\d+\.\d+\.\d+$/);
    const acq = await c.waitMessage((m) => m.member === 'NameAcquired');
    expect(acq.body).toEqual([name]);
    expect(acq.destination).toBe(name);
    expect(acq.sender).toBe('org.freedesktop.DBus');
    const again = await c.call(...D, 'Hello');
    expect(again.type).toBe(MessageType.ERROR);
    expect(again.errorName).toBe('org.freedesktop.DBus.Error.Failed');
    expect(served.svc.conn.listNames()).toContain(name);
  });

  it('AddMatch/RemoveMatch validate rules like dbus-daemon', async () => {
    const bad = await c.call(...D, 'AddMatch', 's', ["type='nonsense'"]);
    expect(bad.errorName).toBe('org.freedesktop.DBus.Error.MatchRuleInvalid');
    const missing = await c.call(...D, 'RemoveMatch', 's', ["member='NeverAdded'"]);
    expect(missing.errorName).toBe('org.freedesktop.DBus.Error.MatchRuleNotFound');
    const ok = await c.call(...D, 'AddMatch', 's', ["member='Added'"]);
    expect(ok.type).toBe(MessageType.METHOD_RETURN);
    expect((await c.call(...D, 'RemoveMatch', 's', ["member='Added'"])).type).toBe(MessageType.METHOD_RETURN);
  });

  it('NO_REPLY_EXPECTED calls to the driver take effect without a reply', async () => {
    const serial = c.nextSerial();
    c.write(c.encode({
      type: MessageType.METHOD_CALL, serial, flags: MessageFlags.NO_REPLY_EXPECTED, destination: D[0], path: D[1], interface: D[2],
      member: 'RequestName', signature: 'su', body: ['com.example.Quiet', 0],
    }));
    await until(() => served.svc.conn.getNameOwner('com.example.Quiet') === name, 5000, 'the name to be taken');
    // A later call's reply arrives, and nothing ever answered the first.
    const owner = await c.call(...D, 'GetNameOwner', 's', ['com.example.Quiet']);
    expect(owner.body).toEqual([name]);
    expect(c.messages.some((m) => m.replySerial === serial)).toBe(false);
  });

  it('names owned by a stock client move when it leaves; errors keep their names', async () => {
    const other = await RawClient.connect(`${served.bus.dir}/gw.sock`);
    await other.authenticate();
    const otherName = await other.hello();
    const r = await other.call(...D, 'RequestName', 'su', ['com.example.Shared', 0]);
    expect(r.body).toEqual([1]);
    const q = await c.call(...D, 'RequestName', 'su', ['com.example.Shared', 0]);
    expect(q.body).toEqual([2]); // IN_QUEUE
    expect(served.svc.conn.getNameOwner('com.example.Shared')).toBe(otherName);
    other.destroy();
    await until(() => served.svc.conn.getNameOwner('com.example.Shared') === name, 5000, 'the queued owner to take over');
    await c.waitMessage((m) => m.member === 'NameAcquired' && m.body[0] === 'com.example.Shared');
    const none = await c.call(...D, 'GetNameOwner', 's', ['com.example.Nobody']);
    expect(none.errorName).toBe('org.freedesktop.DBus.Error.NameHasNoOwner');
  });

  it('BecomeMonitor checks its arguments', async () => {
    const m = await RawClient.connect(`${served.bus.dir}/gw.sock`);
    await m.authenticate();
    await m.hello();
    const bad = await m.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Monitoring', 'BecomeMonitor', 'asu', [[], 1]);
    expect(bad.errorName).toBe('org.freedesktop.DBus.Error.InvalidArgs');
    const badRule = await m.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Monitoring', 'BecomeMonitor', 'asu', [["type='x'"], 0]);
    expect(badRule.errorName).toBe('org.freedesktop.DBus.Error.MatchRuleInvalid');
    const ok = await m.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Monitoring', 'BecomeMonitor', 'asu', [["interface='com.example.Mon'"], 0]);
    expect(ok.type).toBe(MessageType.METHOD_RETURN);
    const emit = setInterval(() => served.svc.conn.emitSignal('/m', 'com.example.Mon', 'Tick', '', []), 50);
    try {
      const tick = await m.waitMessage((x) => x.member === 'Tick');
      expect(tick.sender).toBe(served.svc.conn.uniqueName);
    } finally {
      clearInterval(emit);
    }
    // A monitor must not talk: the gateway drops it.
    m.write(m.encode({ type: MessageType.SIGNAL, path: '/m', interface: 'com.example.Mon', member: 'Chatty' }));
    await m.waitClosed();
  });
});
