// Fds over the kernel backend: what ipn.ko refuses to carry (an AF_UNIX
// socket: it could close a reference cycle) reaches the caller as a clear
// D-Bus error, and the connection keeps working. Runs in the VM only.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import native from '@ipnbus/native';
import { BACKEND, freshBus, type TestBus } from './helpers/bus.js';
import { Member } from './helpers/member.js';
import { connect, DBusError, ErrorNames, type Connection } from '../../src/core/index.js';

const T = { path: '/org/example/Test', interface: 'org.example.Test', destination: 'org.example.Server' };

let bus: TestBus;
let me: Connection;
let server: Member;
let scratch: string;

beforeAll(async () => {
  bus = freshBus('fd-kinds');
  scratch = mkdtempSync(join(tmpdir(), 'ipnbus-fd-kinds-'));
  me = await connect({ address: bus.address, backend: BACKEND });
  server = await Member.start(bus.address);
  await server.do('serve');
  expect(await server.do('requestName', 'org.example.Server', 0)).toBe(1);
  const deadline = Date.now() + 5000;
  while (me.getNameOwner('org.example.Server') === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
});

afterAll(async () => {
  me?.disconnect();
  await server?.stop();
  bus?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe('fds the kernel backend cannot carry', () => {
  it('an AF_UNIX socket: NotSupported naming why, also in a fragmented call; the next call with a file works', async () => {
    expect(BACKEND).toBe('kernel');
    const C = native.constants;
    const sock = native.socket(C.AF_UNIX!, C.SOCK_SEQPACKET!, 0);
    let err: unknown;
    try {
      await me.call({ ...T, member: 'ReadFd', signature: 'h', body: [0] }, { fds: [sock] });
    } catch (e) {
      err = e;
    } finally {
      closeSync(sock);
    }
    expect(err).toBeInstanceOf(DBusError);
    expect((err as DBusError).name).toBe(ErrorNames.NotSupported);
    expect((err as DBusError).message).toMatch(/AF_UNIX socket/);

    // The same with a call too large for one datagram (fragmented).
    const big = 'x'.repeat(300 * 1024);
    const sock2 = native.socket(C.AF_UNIX!, C.SOCK_SEQPACKET!, 0);
    err = undefined;
    try {
      await me.call({ ...T, member: 'Echo', signature: 's', body: [big] }, { fds: [sock2] });
    } catch (e) {
      err = e;
    } finally {
      closeSync(sock2);
    }
    expect((err as DBusError | undefined)?.name).toBe(ErrorNames.NotSupported);

    const file = join(scratch, 'in.txt');
    writeFileSync(file, 'a file still passes');
    const fd = openSync(file, 'r');
    try {
      const { reply } = await me.call({ ...T, member: 'ReadFd', signature: 'h', body: [0] }, { fds: [fd] });
      expect(reply.body[0]).toBe('a file still passes');
    } finally {
      closeSync(fd);
    }
  });
});
