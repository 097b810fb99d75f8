// Bad stock clients (garbage, malformed messages, floods, not reading) cannot hurt the others.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../packages/bus/src/gateway/index.js';
import { MessageType, type Message } from '../../packages/bus/src/wire/index.js';
import { run, startTestBus, until, type TestBus } from './helpers.js';
import { IFACE, PATH, SERVICE, startNativeService, type NativeService } from './native-service.js';
import { RawClient } from './raw-client.js';

let bus: TestBus;
let gw: Gateway;
let sockPath: string;
let svc: NativeService;
const logLines: string[] = [];

beforeAll(async () => {
  bus = await startTestBus();
  svc = await startNativeService(bus.busAddress);
  // A second gateway on the same bus with tight limits and a captured log.
  sockPath = join(bus.dir, 'strict.sock');
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  gw = await startGateway({
    listen: `unix:path=${sockPath}`,
    busAddress: bus.busAddress,
    backend: 'user',
    logger: pino({ level: 'info' }, sink),
    // 1.5 s to authenticate: short enough to test silence, long enough for
    // a gdbus process started at load 15 (400 ms dropped it now and then).
    limits: { authTimeoutMs: 1500, maxOutgoingBytes: 1024 * 1024, maxQueuedMessages: 64, maxAuthFailures: 4 },
  });
});

afterAll(async () => {
  await gw?.close();
  svc?.close();
  await bus?.close();
});

/** A well-behaved stock client still gets its answer, promptly. */
async function goodClientWorks(): Promise<void> {
  const t0 = Date.now();
  const r = await run('gdbus', ['call', '--address', gw.address, '--dest', SERVICE, '--object-path', PATH, '--method', `${IFACE}.Echo`, 'still fine']);
  expect(r.stdout.trim()).toBe("('still fine',)");
  expect(Date.now() - t0).toBeLessThan(5000);
}

const logged = (re: RegExp): boolean => logLines.some((l) => re.test(l));

describe('gateway against misbehaving clients', () => {
  it('garbage during auth: ERROR replies, then a disconnect after the failure limit', async () => {
    const c = await RawClient.connect(sockPath);
    c.write('\0' + 'HELLO THERE\r\n'.repeat(10));
    await c.waitClosed();
    expect(c.text.match(/^ERROR/gm)).toHaveLength(4);
    expect(logged(/too many auth errors/)).toBe(true);
    await goodClientWorks();
  });

  it('rejected mechanisms and a wrong uid get REJECTED EXTERNAL, and count as failures', async () => {
    const c = await RawClient.connect(sockPath);
    c.write('\0AUTH ANONYMOUS\r\nAUTH\r\n');
    await c.waitText(/(REJECTED EXTERNAL\r\n){2}/);
    c.write(`AUTH EXTERNAL ${Buffer.from('4242').toString('hex')}\r\n`);
    await c.waitText(/(REJECTED EXTERNAL\r\n){3}/);
    c.write('AUTH EXTERNAL\r\n');
    await c.waitText(/DATA\r\n$/);
    c.write('DATA\r\n');
    await c.waitText(/OK [0-9a-f]{32}\r\n$/);
    expect(c.text).toContain(gw.guid);
    // The native addon drives client sockets here, so fds can pass.
    c.write('NEGOTIATE_UNIX_FD\r\n');
    await c.waitText(/AGREE_UNIX_FD\r\n$/);
    c.destroy();
  });

  it('a first byte that is not NUL, or silence, gets the client dropped', async () => {
    const a = await RawClient.connect(sockPath);
    a.write('AUTH EXTERNAL 30\r\n');
    await a.waitClosed();
    expect(a.text).toBe('');
    const b = await RawClient.connect(sockPath);
    await b.waitClosed(10_000);
    expect(logged(/authentication timed out/)).toBe(true);
  });

  it('a malformed message after BEGIN disconnects that client only, with a log line', async () => {
    const c = await RawClient.connect(sockPath);
    await c.authenticate();
    await c.hello();
    c.write(Buffer.from('X\x01\x00\x01garbage that is no D-Bus header at all'));
    await c.waitClosed();
    expect(logged(/malformed message from client/)).toBe(true);
    await goodClientWorks();
  });

  it('random bytes behind a plausible header never take the gateway down', async () => {
    const c = await RawClient.connect(sockPath);
    await c.authenticate();
    await c.hello();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          type: fc.integer({ min: 0, max: 255 }),
          flags: fc.integer({ min: 0, max: 255 }),
          fieldsLen: fc.integer({ min: 0, max: 64 }),
          bodyLen: fc.integer({ min: 0, max: 64 }),
          junk: fc.uint8Array({ minLength: 0, maxLength: 160 }),
        }),
        async ({ type, flags, fieldsLen, bodyLen, junk }) => {
          const x = await RawClient.connect(sockPath);
          await x.authenticate();
          const hdr = Buffer.alloc(16);
          hdr.write('l', 0, 'latin1');
          hdr[1] = type;
          hdr[2] = flags;
          hdr[3] = 1;
          hdr.writeUInt32LE(bodyLen, 4);
          hdr.writeUInt32LE(1, 8);
          hdr.writeUInt32LE(fieldsLen, 12);
          const need = 16 + Math.ceil(fieldsLen / 8) * 8 + bodyLen;
          const rest = Buffer.alloc(need - 16);
          Buffer.from(junk).copy(rest);
          x.write(Buffer.concat([hdr, rest]));
          // Either a reply (it was a valid message after all) or a disconnect.
          await Promise.race([x.waitClosed(3000), x.waitMessage(() => true, 3000)]).catch(() => undefined);
          x.destroy();
        },
      ),
      { numRuns: 60 },
    );
    // The long-lived client and stock tools are still served.
    const r = await c.call(SERVICE, PATH, IFACE, 'Echo', 's', ['alive']);
    expect(r.body).toEqual(['alive']);
    c.destroy();
    await goodClientWorks();
  });

  it('a message before Hello gets AccessDenied and a disconnect', async () => {
    const c = await RawClient.connect(sockPath);
    await c.authenticate();
    const reply = await c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ListNames');
    expect(reply.type).toBe(MessageType.ERROR);
    expect(reply.errorName).toBe('org.freedesktop.DBus.Error.AccessDenied');
    await c.waitClosed();
  });

  it('a flooding client is slowed down, not dropped; every message arrives, others are served meanwhile', async () => {
    const N = 20_000;
    const got: number[] = [];
    svc.conn.on('message', (m: Message) => {
      if (m.type === MessageType.SIGNAL && m.member === 'Flood') got.push(m.body[0] as number);
    });
    svc.conn.addMatch(`type='signal',interface='${IFACE}',member='Flood'`);
    const c = await RawClient.connect(sockPath);
    await c.authenticate();
    await c.hello();
    // The native rule must be in force at the flooder's member: a round trip
    // to every member, answered after what the service sent it before.
    await svc.conn.settle();
    const chunks: Buffer[] = [];
    for (let i = 0; i < N; i++) {
      chunks.push(c.encode({ type: MessageType.SIGNAL, path: PATH, interface: IFACE, member: 'Flood', signature: 'u', body: [i] }));
    }
    const all = Buffer.concat(chunks);
    c.write(all);
    // The gateway reads at the pace the bus takes: the flooder's own socket backs up.
    expect(c.sock.writableLength).toBeGreaterThan(0);
    await goodClientWorks();
    await until(() => got.length === N, 30_000, `all ${N} flood signals (got ${got.length})`);
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(c.closed).toBe(false);
    c.destroy();
  });

  it('a client that stops reading is disconnected at its outgoing limit; a reading client gets everything', async () => {
    // Earlier tests' clients may still be leaving: start from a quiet gateway.
    await until(() => gw.clientCount === 0, 5000, 'earlier clients to leave');
    const slow = await RawClient.connect(sockPath);
    await slow.authenticate();
    const slowName = await slow.hello();
    const rule = `type='signal',interface='${IFACE}',member='Big'`;
    const ok1 = await slow.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [rule]);
    expect(ok1.type).toBe(MessageType.METHOD_RETURN);
    const good = await RawClient.connect(sockPath);
    await good.authenticate();
    await good.hello();
    // The AddMatch replies mean both rules are in force at the service.
    await good.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [rule]);
    slow.sock.pause();
    expect(gw.clientCount).toBe(2);
    const payload = 'x'.repeat(16 * 1024);
    const COUNT = 300; // 4.8 MiB: far over kernel buffers + the 1 MiB limit
    for (let i = 0; i < COUNT; i++) {
      svc.conn.emitSignal(PATH, IFACE, 'Big', 'us', [i, payload]);
      // Let the event loop run (the gateway lives in this process too), and
      // hold off while the service's transport has sends queued.
      if (i % 10 === 9) {
        await new Promise((r) => setImmediate(r));
        if (svc.conn.backpressured) await new Promise((r) => svc.conn.once('drain', r));
      }
    }
    await until(() => gw.clientCount === 1, 10_000, 'the non-reading client to be dropped');
    const line = logLines.find((l) => /client is not reading: \d+ bytes queued \(limit 1048576\)/.test(l));
    expect(line).toBeDefined();
    expect(JSON.parse(line!).uniqueName).toBe(slowName);
    await until(() => good.messages.filter((m) => m.member === 'Big').length === COUNT, 10_000, 'all signals at the reading client');
    const seq = good.messages.filter((m) => m.member === 'Big').map((m) => m.body[0]);
    expect(seq).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(good.closed).toBe(false);
    good.destroy();
    slow.destroy();
    await goodClientWorks();
  });
});
