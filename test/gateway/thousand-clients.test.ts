// 1,000 stock connections open at once on one gateway process: its fds grow linearly (one socket per client), then a call works.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../packages/bus/src/wire/index.js';
import { GatewayProcess, startTestBus, until, type TestBus } from './helpers.js';
import { IFACE, PATH, SERVICE, startNativeService, type NativeService } from './native-service.js';
import { RawClient, hexUid } from './raw-client.js';

const MANY = 1000;
const FEW = 100;

let bus: TestBus;
let svc: NativeService;
let gateway: GatewayProcess;
let sock: string;
const clients: RawClient[] = [];

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

beforeAll(async () => {
  bus = await startTestBus();
  svc = await startNativeService(bus.busAddress);
  sock = join(bus.dir, 'many.sock');
  gateway = await GatewayProcess.start(bus.busAddress, sock);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await gateway?.kill();
  svc?.close();
  await bus?.close();
});

/**
 * Opens `n` more stock connections at once: all connect, all send SASL
 * EXTERNAL, then BEGIN and Hello; one wait for each step (not one poller
 * per client), bounded generously for a loaded machine.
 */
async function open(n: number): Promise<void> {
  const batch = await Promise.all(Array.from({ length: n }, () => RawClient.connect(sock)));
  for (const c of batch) c.write(`\0AUTH EXTERNAL ${hexUid()}\r\n`);
  await until(() => batch.every((c) => /^OK [0-9a-f]{32}\r\n/.test(c.text)), 120_000, `${n} SASL OKs`);
  const hellos = batch.map((c) => {
    c.begin();
    const serial = c.nextSerial();
    c.write(c.encode({ type: MessageType.METHOD_CALL, serial, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' }));
    return serial;
  });
  await until(() => batch.every((c, i) => c.messages.some((m) => m.replySerial === hellos[i])), 120_000, `${n} Hello replies`);
  clients.push(...batch);
}

describe('a gateway with 1,000 stock clients', () => {
  it('grows its fds linearly with its clients (one member, not one mesh node per client), then answers a call', async () => {
    const pid = gateway.pid;
    const base = fdCount(pid);
    await open(FEW);
    const fdsFew = fdCount(pid);
    const rssFew = rssKiB(pid);
    await open(MANY - FEW);
    const fdsMany = fdCount(pid);
    const rssMany = rssKiB(pid);
    console.log(`gateway fds: ${base} idle, ${fdsFew} at ${FEW} clients, ${fdsMany} at ${MANY}; RSS ${rssFew} KiB at ${FEW}, ${rssMany} KiB at ${MANY}`);
    // Per client: its socket. 10x the clients must cost about 10x the fds
    // (a full mesh member per client would be ~100x), and no more than
    // two per client.
    const ratio = (fdsMany - base) / (fdsFew - base);
    expect(ratio).toBeGreaterThan(8);
    expect(ratio).toBeLessThan(12);
    expect(fdsMany - base).toBeLessThanOrEqual(2 * MANY);

    // Every client is on the bus: the native member lists all of them.
    await until(() => svc.conn.listNames().filter((n) => n.startsWith(':')).length >= MANY + 2, 20_000, 'every client in the native view');
    // Then a call from the last client to the native service, and one between two clients' views of the bus.
    const last = clients.at(-1)!;
    const reply = await last.call(SERVICE, PATH, IFACE, 'Echo', 's', ['after 1000']);
    expect(reply.type).toBe(MessageType.METHOD_RETURN);
    expect(reply.body).toEqual(['after 1000']);
    const names = await clients[0]!.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ListNames');
    expect((names.body[0] as string[]).filter((n) => n.startsWith(':')).length).toBeGreaterThanOrEqual(MANY + 2);
  }, 300_000);
});
