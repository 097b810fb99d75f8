// AddMatch from a stock client is answered only once the rule holds at every member (as dbus-daemon's reply means).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../packages/bus/src/wire/index.js';
import { startTestBus, until, type TestBus } from './helpers.js';
import { IFACE, PATH } from './native-service.js';
import { RawClient } from './raw-client.js';
import { BACKEND } from '../backend.mjs';

let bus: TestBus;
let emitter: ChildProcess;
let out = '';

beforeAll(async () => {
  bus = await startTestBus();
  emitter = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/emitter.mjs'), bus.busAddress, BACKEND, PATH, IFACE], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  emitter.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => /^ready /m.test(out) || emitter.exitCode !== null, 15_000, 'the emitter process to join');
  expect(emitter.exitCode).toBeNull();
});

afterAll(async () => {
  if (emitter && emitter.exitCode === null) {
    emitter.kill('SIGCONT');
    emitter.stdin!.end();
    await new Promise((r) => emitter.once('close', r));
  }
  await bus?.close();
});

const driverCall = (c: RawClient, member: string, signature = '', body: unknown[] = []): number => {
  const serial = c.nextSerial();
  c.write(c.encode({
    type: MessageType.METHOD_CALL, serial, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus',
    interface: 'org.freedesktop.DBus', member, signature, body,
  }));
  return serial;
};

describe('AddMatch through the gateway', () => {
  it('is answered after a stopped member has taken the rule, and a signal it emits after the reply arrives', async () => {
    const c = await RawClient.connect(join(bus.dir, 'gw.sock'));
    await c.authenticate();
    await c.hello();
    const ROUNDS = 5;
    for (let i = 0; i < ROUNDS; i++) {
      const member = `Fresh${i}`;
      // The other member cannot read while stopped: the rule cannot be in force there.
      emitter.kill('SIGSTOP');
      const add = driverCall(c, 'AddMatch', 's', [`type='signal',interface='${IFACE}',member='${member}'`]);
      // A driver call sent after AddMatch and answered locally: once its
      // reply is in, the gateway has handled the AddMatch too.
      const getId = driverCall(c, 'GetId');
      await c.waitMessage((m) => m.replySerial === getId);
      if (BACKEND === 'user') {
        // User backend: the rule travels to each member, so no reply yet.
        expect(c.messages.some((m) => m.replySerial === add)).toBe(false);
      }
      emitter.kill('SIGCONT');
      const reply = await c.waitMessage((m) => m.replySerial === add);
      expect(reply.type).toBe(MessageType.METHOD_RETURN);
      emitter.stdin!.write(`emit ${member} ${i}\n`);
      const sig = await c.waitMessage((m) => m.type === MessageType.SIGNAL && m.member === member);
      expect(sig.body).toEqual([i]);
    }
    c.destroy();
  });
});
