// Per-connection limits: names, match rules and pending calls refused past
// the limit with LimitsExceeded naming it; the transport's reassembly budget
// and per-receiver queue set through the same connect({ limits }).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, freshBus, type TestBus } from '../../packages/bus/test/core/helpers/bus.js';
import { Member } from '../../packages/bus/test/core/helpers/member.js';
import {
  connect,
  DBusError,
  DEFAULT_LIMITS,
  ErrorNames,
  type Connection,
  type ConnectionLimits,
  type PeerRejection,
} from '../../packages/bus/src/core/index.js';
import { until } from '../../packages/bus/test/core/helpers/until.js';
import type { Message } from '../../packages/bus/src/wire/index.js';

const BUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };
const T = { path: '/org/example/Test', interface: 'org.example.Test' };
const SESSION_CONF = '/usr/share/dbus-1/session.conf';

let bus: TestBus;
let server: Member;
const opened: Connection[] = [];

async function member(limits: Partial<ConnectionLimits>): Promise<Connection> {
  const c = await connect({ address: bus.address, backend: BACKEND, limits });
  opened.push(c);
  return c;
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<DBusError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as DBusError;
  }
  throw new Error('expected a refusal, but it was accepted');
}

function expectLimit(e: DBusError, limit: string, daemonName: string, value: number): void {
  expect(e).toBeInstanceOf(DBusError);
  expect(e.name).toBe(ErrorNames.LimitsExceeded);
  expect(e.message).toContain(limit);
  expect(e.message).toContain(daemonName);
  expect(e.message).toContain(String(value));
}

beforeAll(async () => {
  bus = freshBus('limits');
  server = await Member.start(bus.address);
  await server.do('serve');
});

afterAll(async () => {
  for (const c of opened) c.disconnect();
  await server?.stop();
  bus?.cleanup();
});

describe('per-connection limits', () => {
  it('defaults are at least dbus-daemon session.conf values', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxNames: 50_000,
      maxMatchRules: 50_000,
      maxPendingCalls: 50_000,
      peerQueueBytes: 16 * 2 ** 20,
      reassemblyBytes: 256 * 2 ** 20,
    });
    if (!existsSync(SESSION_CONF)) return;
    const conf = readFileSync(SESSION_CONF, 'utf8');
    const value = (name: string): number => Number(new RegExp(`<limit name="${name}">(\\d+)</limit>`).exec(conf)?.[1] ?? 0);
    expect(DEFAULT_LIMITS.maxNames).toBeGreaterThanOrEqual(value('max_names_per_connection'));
    expect(DEFAULT_LIMITS.maxMatchRules).toBeGreaterThanOrEqual(value('max_match_rules_per_connection'));
    expect(DEFAULT_LIMITS.maxPendingCalls).toBeGreaterThanOrEqual(value('max_replies_per_connection'));
  });

  it('names: past maxNames RequestName is refused (API and bus driver); names held still answer; a release makes room', async () => {
    const c = await member({ maxNames: 3 });
    for (const n of ['org.example.L1', 'org.example.L2', 'org.example.L3']) expect(await c.requestName(n)).toBe(1);
    expectLimit(await refusal(c.requestName('org.example.L4')), 'maxNames', 'max_names_per_connection', 3);
    const viaDriver = await refusal(c.call({ ...BUS, member: 'RequestName', signature: 'su', body: ['org.example.L4', 0] }));
    expectLimit(viaDriver, 'maxNames', 'max_names_per_connection', 3);
    // Asking again for a name it holds is not a new name.
    expect(await c.requestName('org.example.L1')).toBe(4);
    // Nobody else sees L4 owned; queued claims count too.
    expect(await server.do('getNameOwner', 'org.example.L4')).toBeNull();
    expect(await c.releaseName('org.example.L3')).toBe(1);
    expect(await c.requestName('org.example.L4')).toBe(1);
  });

  it('match rules: past maxMatchRules AddMatch is refused (API and bus driver); a removal makes room', async () => {
    const c = await member({ maxMatchRules: 4 });
    const rule = (i: number): string => `type='signal',interface='org.example.R${i}'`;
    for (let i = 0; i < 3; i++) c.addMatch(rule(i));
    c.addMatch(rule(0)); // a duplicate counts, as each AddMatch does in dbus-daemon
    expectLimit(await refusal(() => c.addMatch(rule(9))), 'maxMatchRules', 'max_match_rules_per_connection', 4);
    const viaDriver = await refusal(c.call({ ...BUS, member: 'AddMatch', signature: 's', body: [rule(9)] }));
    expectLimit(viaDriver, 'maxMatchRules', 'max_match_rules_per_connection', 4);
    c.removeMatch(rule(0));
    c.addMatch(rule(9));
  });

  it('pending calls: past maxPendingCalls a call is refused before it is sent; replies make room', async () => {
    const c = await member({ maxPendingCalls: 2 });
    const slow = (): Promise<unknown> =>
      c.call({ destination: server.uniqueName, ...T, member: 'Slow', signature: 'u', body: [300] }, { timeoutMs: 60_000 });
    const waiting = [slow(), slow()];
    expectLimit(await refusal(slow()), 'maxPendingCalls', 'max_replies_per_connection', 2);
    // A call that expects no reply waits for nothing: not counted.
    await c.call({ destination: server.uniqueName, ...T, member: 'Echo', signature: 's', body: ['x'] }, { noReply: true });
    await Promise.all(waiting);
    await slow();
  });

  it('bad limit options are refused with InvalidArgs naming them', async () => {
    const bad = [{ maxNames: 0 }, { maxMatchRules: 1.5 }, { maxPendingCalls: -1 }, { reassemblyBytes: 0 }, { peerQueueBytes: 0.5 }, { maxFoo: 3 }];
    for (const limits of bad as Partial<ConnectionLimits>[]) {
      const e = await refusal(connect({ address: bus.address, backend: BACKEND, limits }));
      expect(e.name).toBe(ErrorNames.InvalidArgs);
      expect(e.message).toContain(Object.keys(limits)[0]!);
    }
  });
});

describe('the transport limits through connect({ limits })', () => {
  it('reassemblyBytes: a fragmented message larger than the budget is refused, reported as a \'rejected\' event naming the sender and the limit', async () => {
    const MIB = 2 ** 20;
    const small = await member({ reassemblyBytes: MIB });
    const sender = await member({});
    const rejections: PeerRejection[] = [];
    small.on('rejected', (r: PeerRejection) => rejections.push(r));
    const got: Message[] = [];
    small.on('message', (m: Message) => {
      if (m.interface === T.interface) got.push(m);
    });
    const signal = (text: string): number =>
      sender.send({ type: 4, destination: small.uniqueName, ...T, member: 'Big', signature: 's', body: [text] });
    // 2 MiB travels in fragments on both backends (kernel MTU 128 KiB): its first announces more than the budget.
    signal('x'.repeat(2 * MIB));
    signal('after');
    await until(() => got.length > 0 && rejections.length > 0, 30_000, 'the refusal and the next signal');
    expect(got.map((m) => m.body[0])).toEqual(['after']);
    expect(rejections[0]!.sender).toBe(sender.uniqueName);
    expect(rejections[0]!.reason).toContain('reassembly budget');
    expect(rejections[0]!.reason).toContain(String(MIB));
  });

  it.runIf(BACKEND === 'user')('peerQueueBytes (user backend): what waits for a stopped receiver stays within it', async () => {
    const MIB = 2 ** 20;
    const stopped = await Member.start(bus.address);
    try {
      await stopped.do('addMatch', `type='signal',interface='${T.interface}'`);
      const sender = await member({ peerQueueBytes: MIB });
      await sender.settle();
      stopped.child.kill('SIGSTOP');
      const text = 'y'.repeat(16 * 1024);
      // 8 MiB for a receiver that reads nothing: its socket buffer takes a
      // little, the sender holds at most 1 MiB (plus the message that crossed it).
      for (let i = 0; i < 512; i++) sender.emitSignal(T.path, T.interface, 'Flood', 's', [text]);
      // Messages this large are not coalesced: each went out (or was queued or dropped) in emitSignal.
      const waiting = (sender.network as { waitingBytes?: number }).waitingBytes ?? 0;
      expect(waiting).toBeGreaterThan(0);
      expect(waiting).toBeLessThanOrEqual(MIB + 17 * 1024);
    } finally {
      stopped.child.kill('SIGCONT');
      await stopped.stop();
    }
  });
});
