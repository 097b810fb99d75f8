// The gateway's listening side: addresses (path, abstract, escaping), stale sockets, and who may connect.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError, parseListenAddress, startGateway } from '../../packages/bus/src/gateway/index.js';
import { run, until } from './helpers.js';
import { RawClient } from './raw-client.js';

let dir: string;
let busAddress: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipnbus-gwsrv-'));
  // Other users must be able to reach the socket for the uid test.
  chmodSync(dir, 0o755);
  busAddress = `ipnbus:path=${join(dir, 'bus')}`;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const getId = (address: string, pre: string[] = []) =>
  run(pre.length ? pre[0]! : 'gdbus', [...pre.slice(1), ...(pre.length ? ['gdbus'] : []), 'call', '--address', address, '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus', '--method', 'org.freedesktop.DBus.GetId']);

describe('gateway listen addresses', () => {
  it('parses unix:path and unix:abstract, escaping both ways, and rejects the rest with BadAddress', () => {
    const p = parseListenAddress('unix:path=/tmp/a%20b,guid=00');
    expect(p).toMatchObject({ kind: 'path', name: '/tmp/a b', netPath: '/tmp/a b', dbusAddress: 'unix:path=/tmp/a%20b' });
    const a = parseListenAddress('unix:abstract=ipnbus-test;unix:path=/ignored');
    expect(a).toMatchObject({ kind: 'abstract', name: 'ipnbus-test', netPath: '\0ipnbus-test' });
    for (const bad of ['', 'tcp:host=localhost,port=1', 'unix:', 'unix:path=/a,abstract=b', 'unix:path=/a,path=/b', 'unix:path=%zz', 'unix:tmpdir=/tmp', 'nocolon', `unix:path=/${'x'.repeat(200)}`]) {
      expect(() => parseListenAddress(bad), bad).toThrow(GatewayError);
      try {
        parseListenAddress(bad);
      } catch (e) {
        expect((e as GatewayError).code).toBe('BadAddress');
      }
    }
  });

  it('serves on an abstract socket', async () => {
    const name = `ipnbus-gw-test-${process.pid}`;
    const gw = await startGateway({ listen: `unix:abstract=${name}`, busAddress, backend: 'user' });
    try {
      expect(gw.address).toMatch(new RegExp(`^unix:abstract=${name},guid=[0-9a-f]{32}$`));
      const r = await getId(gw.address);
      expect(r.stdout.trim()).toMatch(/^\('[0-9a-f]{32}',\)$/);
    } finally {
      await gw.close();
    }
  });

  it('replaces a stale socket file, refuses a live one and a non-socket file', async () => {
    const stale = join(dir, 'stale.sock');
    // A socket file whose server is gone: bind, then close without unlinking.
    const s = createServer();
    await new Promise<void>((r) => s.listen(stale, r));
    await new Promise<void>((r) => s.close(() => r()));
    writeFileSync(join(dir, 'keep'), 'not a socket');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(stale, r)).catch(() => undefined);
    srv.close();
    const gw = await startGateway({ listen: `unix:path=${stale}`, busAddress, backend: 'user' });
    try {
      await expect(startGateway({ listen: `unix:path=${stale}`, busAddress, backend: 'user' })).rejects.toMatchObject({ code: 'AddressInUse' });
      await expect(startGateway({ listen: `unix:path=${join(dir, 'keep')}`, busAddress, backend: 'user' })).rejects.toMatchObject({ code: 'AddressInUse' });
      expect((await getId(gw.address)).code).toBe(0);
    } finally {
      await gw.close();
    }
  });

  it('admits only its own uid (or root): another user is REJECTED by EXTERNAL', async () => {
    const gw = await startGateway({ listen: `unix:path=${join(dir, 'open.sock')}`, busAddress, backend: 'user', socketMode: 0o666 });
    try {
      const me = await getId(gw.address);
      expect(me.code).toBe(0);
      if ((process.getuid?.() ?? 0) === 0) {
        const other = await getId(gw.address, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
        expect(other.code).not.toBe(0);
        expect(other.stderr).toContain('Exhausted all available authentication mechanisms');
      }
    } finally {
      await gw.close();
    }
  });

  it('turns connections away past maxClients, and takes them again once one leaves', async () => {
    const path = join(dir, 'few.sock');
    const gw = await startGateway({ listen: `unix:path=${path}`, busAddress, backend: 'user', limits: { maxClients: 2 } });
    try {
      const a = await RawClient.connect(path);
      const b = await RawClient.connect(path);
      await a.authenticate();
      await b.authenticate();
      const c = await RawClient.connect(path);
      await c.waitClosed();
      expect(a.closed || b.closed).toBe(false);
      a.destroy();
      await until(() => gw.clientCount === 1, 5000, 'the first client to be gone');
      const d = await RawClient.connect(path);
      await d.authenticate();
      expect(d.closed).toBe(false);
      b.destroy();
      d.destroy();
    } finally {
      await gw.close();
    }
  });
});
