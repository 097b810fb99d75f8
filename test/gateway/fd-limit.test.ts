// A gateway at its fd limit: connections past it wait in the listen queue and are served once clients leave; none is dropped, the gateway lives on.
//
// The gateway runs under `ulimit -n 96`. When accept4() fails with EMFILE
// the connection stays queued in the kernel; the gateway pauses accepting
// for a moment instead of spinning on a listening socket that stays
// readable, or dropping the connection (libuv's node:net answer to EMFILE
// is to accept and close it at once).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../packages/bus/src/wire/index.js';
import { GatewayProcess, startTestBus, until, type TestBus } from './helpers.js';
import { RawClient, hexUid } from './raw-client.js';

const FD_LIMIT = 96;

let bus: TestBus;
let gateway: GatewayProcess;
let sock: string;
const clients: RawClient[] = [];

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const authed = (c: RawClient): boolean => /^OK [0-9a-f]{32}\r\n/.test(c.text);

beforeAll(async () => {
  bus = await startTestBus();
  sock = join(bus.dir, 'limited.sock');
  gateway = await GatewayProcess.start(bus.busAddress, sock, { fdLimit: FD_LIMIT, env: { IPNBUS_LOG: 'warn' } });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await gateway?.kill();
  await bus?.close();
});

describe('a gateway at its fd limit', () => {
  it('keeps connections past the limit queued, serves them when clients leave, and drops none', async () => {
    const pid = gateway.pid;
    const free = FD_LIMIT - fdCount(pid);
    expect(free).toBeGreaterThan(20);
    // More clients than the gateway has fds for, all authenticating at once.
    const n = free + 30;
    clients.push(...(await Promise.all(Array.from({ length: n }, () => RawClient.connect(sock)))));
    for (const c of clients) c.write(`\0AUTH EXTERNAL ${hexUid()}\r\n`);
    await until(() => /EMFILE/.test(gateway.output), 60_000, 'the gateway to report EMFILE at accept');
    await until(() => clients.filter(authed).length >= free - 10, 60_000, 'the clients that fit to be answered');
    const waiting = clients.filter((c) => !authed(c));
    console.log(`fd limit ${FD_LIMIT}: ${free} free at start, ${clients.length - waiting.length} clients answered, ${waiting.length} queued`);
    expect(waiting.length).toBeGreaterThanOrEqual(20);
    expect(clients.some((c) => c.closed)).toBe(false);
    expect(gateway.child.exitCode).toBeNull();

    // Clients leave: the queued ones are accepted and answered, none hung up on.
    const leaving = clients.filter(authed).slice(0, waiting.length + 10);
    for (const c of leaving) c.destroy();
    await until(() => waiting.every(authed), 60_000, 'every queued client to be answered');
    expect(waiting.some((c) => c.closed)).toBe(false);

    // And one of them is a working bus client.
    const last = waiting.at(-1)!;
    last.begin();
    const serial = last.nextSerial();
    last.write(last.encode({ type: MessageType.METHOD_CALL, serial, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' }));
    await until(() => last.messages.some((m) => m.replySerial === serial), 30_000, 'the Hello reply');
    const reply = last.messages.find((m) => m.replySerial === serial)!;
    expect(reply.type).toBe(MessageType.METHOD_RETURN);
  }, 240_000);
});
