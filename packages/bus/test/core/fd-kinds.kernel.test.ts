// Fds over the kernel backend: what ipn.ko refuses to carry (an AF_UNIX
// socket: it could close a reference cycle) reaches the caller as a clear
// D-Bus error, and the connection keeps working. Runs in the VM only.
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import native from '@ipnbus/native';
import { BACKEND } from './helpers/bus.js';
import { startServerFixture, type ServerFixture } from './helpers/server-fixture.js';
import { DBusError, ErrorNames, type Connection } from '../../src/core/index.js';

const T = { path: '/org/example/Test', interface: 'org.example.Test', destination: 'org.example.Server' };

let fixture: ServerFixture;
let me: Connection;
let scratch: string;

beforeAll(async () => {
  fixture = await startServerFixture('fd-kinds');
  ({ me, scratch } = fixture);
});

afterAll(async () => {
  await fixture?.close();
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
