// Serials are the sender's, end to end: stock client -> native, native -> stock client, native -> native (as dbus-daemon forwards them).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../../packages/bus/src/core/index.js';
import { MessageType, type Message } from '../../packages/bus/src/wire/index.js';
import { run, startTestBus, until, type TestBus } from './helpers.js';
import { RawClient } from './raw-client.js';
import { BACKEND } from '../backend.mjs';

const NAME = 'com.example.Serials';
const PATH = '/com/example/Serials';
const IFACE = 'com.example.Serials';

let bus: TestBus;
/** A native callee that records every call and signal it sees, and can hold its replies. */
let callee: Connection;
const seen: Message[] = [];
let holding = false;
const held: Message[] = [];

beforeAll(async () => {
  bus = await startTestBus();
  callee = await connect({ address: bus.busAddress, backend: BACKEND });
  callee.on('message', (m: Message) => {
    if (m.type === MessageType.SIGNAL && m.interface === IFACE) seen.push(m);
  });
  callee.on('methodCall', ({ msg }: { msg: Message }) => {
    seen.push(msg);
    if (holding) held.push(msg);
    else callee.reply(msg, 'u', [msg.serial]);
  });
  callee.addMatch(`type='signal',interface='${IFACE}'`);
  await callee.settle();
  await callee.requestName(NAME, 0);
});

afterAll(async () => {
  callee?.disconnect();
  await bus?.close();
});

async function rawClient(): Promise<RawClient> {
  const c = await RawClient.connect(join(bus.dir, 'gw.sock'));
  await c.authenticate();
  await c.hello();
  return c;
}

function sendCall(c: RawClient, serial: number, member = 'Serial'): void {
  c.write(c.encode({ type: MessageType.METHOD_CALL, serial, destination: NAME, path: PATH, interface: IFACE, member }));
}

describe('serials through the gateway', () => {
  it('dbus-send: the callee sees the serial dbus-send chose, and the reply names it', async () => {
    const r = await run('dbus-send', [`--bus=${bus.gw.address}`, '--print-reply', `--dest=${NAME}`, PATH, `${IFACE}.Serial`]);
    expect(r.stderr).toBe('');
    const m = /method return .* reply_serial=(\d+)\n\s+uint32 (\d+)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    // The reply's reply_serial is dbus-send's own serial; the body is what the callee saw.
    expect(Number(m![2])).toBe(Number(m![1]));
  });

  it('a raw client\'s odd serials reach the callee unchanged, calls and signals alike', async () => {
    const c = await rawClient();
    for (const serial of [0xfffffff0, 7, 123456]) {
      sendCall(c, serial);
      const reply = await c.waitMessage((m) => m.replySerial === serial);
      expect(reply.type).toBe(MessageType.METHOD_RETURN);
      expect(reply.body).toEqual([serial]);
    }
    c.write(c.encode({ type: MessageType.SIGNAL, serial: 777, path: PATH, interface: IFACE, member: 'Sig' }));
    await until(() => seen.some((m) => m.member === 'Sig'), 5000, 'the signal at the callee');
    expect(seen.find((m) => m.member === 'Sig')!.serial).toBe(777);
    c.destroy();
  });

  it('a native caller\'s call reaches a stock callee with its serial; the stock reply keeps its own serial', async () => {
    const c = await rawClient();
    const stockName = 'com.example.StockCallee';
    const ok = await c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'RequestName', 'su', [stockName, 0]);
    expect(ok.body).toEqual([1]);
    const replies: Message[] = [];
    callee.on('message', (m: Message) => {
      if (m.type === MessageType.METHOD_RETURN && m.sender === c.messages[0]?.destination) replies.push(m);
    });
    const serial = callee.send({ type: MessageType.METHOD_CALL, destination: stockName, path: '/x', interface: 'com.example.X', member: 'Ping' });
    const call = await c.waitMessage((m) => m.type === MessageType.METHOD_CALL && m.member === 'Ping');
    expect(call.serial).toBe(serial);
    c.write(c.encode({ type: MessageType.METHOD_RETURN, serial: 4242, replySerial: call.serial, destination: call.sender!, signature: 's', body: ['pong'] }));
    await until(() => replies.some((m) => m.replySerial === serial), 5000, 'the stock reply at the native caller');
    const reply = replies.find((m) => m.replySerial === serial)!;
    expect(reply.serial).toBe(4242);
    expect(reply.body).toEqual(['pong']);
    c.destroy();
  });

  it('native to native: the callee sees the serial send() returned', async () => {
    const caller = await connect({ address: bus.busAddress, backend: BACKEND });
    try {
      const replies: Message[] = [];
      caller.on('message', (m: Message) => {
        if (m.type === MessageType.METHOD_RETURN) replies.push(m);
      });
      const serial = caller.send({ type: MessageType.METHOD_CALL, destination: NAME, path: PATH, interface: IFACE, member: 'Serial' });
      await until(() => replies.some((m) => m.replySerial === serial), 5000, 'the reply');
      expect(replies.find((m) => m.replySerial === serial)!.body).toEqual([serial]);
    } finally {
      caller.disconnect();
    }
  });

  it('a client\'s serials that equal its member\'s own sync serials do not steal each other\'s replies', async () => {
    const c = await rawClient();
    // Calls with serials 2..41 held by the callee: the member's own sync
    // calls (connect, AddMatch) use small serials of their own counter too.
    holding = true;
    const serials = Array.from({ length: 40 }, (_, i) => i + 2);
    for (const s of serials) sendCall(c, s, 'Held');
    await until(() => held.length === serials.length, 5000, 'the held calls at the callee');
    // AddMatch makes the client's member sync with every member, the callee included.
    const addMatch = c.nextSerial() + 1000;
    c.write(c.encode({
      type: MessageType.METHOD_CALL, serial: addMatch, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [`type='signal',interface='${IFACE}'`],
    }));
    const added = await c.waitMessage((m) => m.replySerial === addMatch);
    expect(added.type).toBe(MessageType.METHOD_RETURN);
    holding = false;
    for (const m of held.splice(0)) callee.reply(m, 'u', [m.serial]);
    for (const s of serials) {
      const r = await c.waitMessage((m) => m.replySerial === s);
      expect(r.type).toBe(MessageType.METHOD_RETURN);
      expect(r.body).toEqual([s]);
    }
    c.destroy();
  });

  it('a second call with a serial still in flight to the same callee is refused with InvalidArgs', async () => {
    const c = await rawClient();
    holding = true;
    sendCall(c, 99, 'Held');
    await until(() => held.length === 1, 5000, 'the held call');
    sendCall(c, 99, 'Held');
    const err = await c.waitMessage((m) => m.replySerial === 99 && m.type === MessageType.ERROR);
    expect(err.errorName).toBe('org.freedesktop.DBus.Error.InvalidArgs');
    expect(err.body[0]).toMatch(/serial 99 is already waiting for a reply/);
    holding = false;
    for (const m of held.splice(0)) callee.reply(m, 'u', [m.serial]);
    const ok = await c.waitMessage((m) => m.replySerial === 99 && m.type === MessageType.METHOD_RETURN);
    expect(ok.body).toEqual([99]);
    c.destroy();
  });
});
