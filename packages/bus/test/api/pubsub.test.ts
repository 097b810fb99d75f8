// Pub/sub across processes: a child publishes nested JS values; this
// process subscribes by exact topic, by prefix and to everything.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connect, topicToPath, PUBSUB_INTERFACE, type MessageBus, type PublishInfo } from 'ipnbus';
import { backend, startServiceBus, type Child, type ServiceBus } from './helpers.js';
import { until } from '../core/helpers/until.js';

let bus: MessageBus;
let child: Child;
let sb: ServiceBus;

beforeAll(async () => {
  sb = await startServiceBus();
  ({ bus, child } = sb);
});

afterAll(async () => {
  await sb?.close();
});

/**
 * Subscribes, waits until every member holds the rule (synced), runs each
 * of `publishes` once in order, and collects until `want` arrived: one
 * publisher's signals keep their order, so a last matching one says the
 * earlier ones were all delivered or filtered.
 */
async function receive(pattern: string, want: number, publishes: Array<() => Promise<unknown>>): Promise<[unknown, PublishInfo][]> {
  const got: [unknown, PublishInfo][] = [];
  const off = bus.subscribe(pattern, (v, info) => got.push([v, info]));
  try {
    await off.synced();
    for (const publish of publishes) await publish();
    await until(() => got.length >= want, 5000, `${want} publications on '${pattern}'`);
    return got;
  } finally {
    off();
  }
}

describe('publish/subscribe', () => {
  it('carries nested values (Dates, bigints, Buffers, Sets) to an exact-topic subscriber', async () => {
    const got = await receive('sensors.kitchen', 1, [() => child.command('publish', 'sensors.kitchen', 'nested')]);
    const [value, info] = got[0]!;
    expect(value).toEqual({
      when: new Date(1700000000123), big: 2n ** 62n, neg: -3n, list: [1, 'two', [3, { four: 4.5 }], null, true],
      bytes: expect.anything(), set: new Set(['x']),
    });
    expect(Buffer.from((value as { bytes: Uint8Array }).bytes)).toEqual(Buffer.from([7, 8, 9]));
    expect(info.topic).toBe('sensors.kitchen');
    expect(info.sender).toBe(child.name);
    // An ordinary D-Bus signal, visible to D-Bus tools.
    expect(info.message.interface).toBe(PUBSUB_INTERFACE);
    expect(info.message.path).toBe(topicToPath('sensors.kitchen'));
    expect(info.message.signature).toBe('say');
  });

  it('prefix patterns receive the prefix and topics below it, nothing else', async () => {
    // The last one matches: once it is in, the two between that do not were filtered out.
    const topics = ['sensors.hall', 'sensors.hall.temp', 'other.hall', 'sensorsX', 'sensors.hall'];
    const got = await receive('sensors.hall.*', 3, topics.map((t) => () => child.command('publish', t, 'number')));
    expect(got.map(([, info]) => info.topic)).toEqual(['sensors.hall', 'sensors.hall.temp', 'sensors.hall']);
    for (const [v] of got) expect(v).toBe(42);
  });

  it("'*' receives every topic; an unsubscribed topic is not delivered", async () => {
    const got = await receive('*', 2, ['x/y-z', 'a.b'].map((t) => () => child.command('publish', t, 'string')));
    expect(new Set(got.map(([, info]) => info.topic))).toEqual(new Set(['a.b', 'x/y-z']));
    expect(got.every(([v]) => v === 'plain')).toBe(true);
    expect(bus.signals.activeRules().filter((r) => r.includes('pubsub'))).toEqual([]);
  });

  it('a publisher in this process reaches a subscriber in another connection', async () => {
    const other = await connect({ address: sb.address, backend });
    try {
      const got: unknown[] = [];
      const off = other.subscribe('local.topic', (v) => got.push(v));
      await off.synced();
      bus.publish('local.topic', { n: 1n, s: ['a'] });
      await until(() => got.length > 0, 5000, 'the publication');
      off();
      expect(got).toEqual([{ n: 1n, s: ['a'] }]);
    } finally {
      other.disconnect();
    }
  });

  it('after synced() a single publish arrives, with no retry', async () => {
    const got: unknown[] = [];
    const sub = bus.subscribe('once.only', (v) => got.push(v));
    await sub.synced();
    await child.command('publish', 'once.only', 'number');
    await until(() => got.length > 0, 2000, 'the publication');
    sub();
    expect(got).toEqual([42]);
  });

  it('members without a matching subscription are not even woken', async () => {
    const idle = await connect({ address: sb.address, backend });
    const other = await connect({ address: sb.address, backend });
    try {
      // 'other.*' is a rule, but not for this topic: the prefilter must still say no.
      const offOther = idle.subscribe('other.*', () => {});
      let got = 0;
      const sub = bus.subscribe('wake.test', () => got++);
      await Promise.all([sub.synced(), offOther.synced()]);
      const stats = (b: typeof bus) => (b.connection as unknown as { stats: { received: number } }).stats.received;
      const idleBefore = stats(idle);
      const busBefore = stats(bus);
      for (let i = 0; i < 50; i++) other.publish('wake.test', i);
      await until(() => got >= 50, 5000, '50 publications');
      expect(got).toBe(50);
      expect(stats(bus) - busBefore).toBeGreaterThanOrEqual(50);
      expect(stats(idle) - idleBefore).toBeLessThan(5);
      sub();
      offOther();
    } finally {
      idle.disconnect();
      other.disconnect();
    }
  });

  it('values far larger than one datagram arrive whole', async () => {
    let got: { data: Uint8Array; list: { i: number }[] } | undefined;
    const sub = bus.subscribe<typeof got>('big.value', (v) => (got = v));
    await sub.synced();
    await child.command('publish', 'big.value', 'big');
    await until(() => got !== undefined, 5000, 'the big value');
    sub();
    expect(got!.data.length).toBe(2 * 1024 * 1024);
    expect(got!.data.every((b) => b === 7)).toBe(true);
    expect(got!.list[4999]).toEqual({ i: 4999 });
  });

  it('rejects bad topics with a TopicError', () => {
    expect(() => bus.publish('', 1)).toThrow(/non-empty/);
    expect(() => bus.subscribe('a..b', () => {})).toThrow(/empty segment/);
    expect(() => bus.subscribe('a.b', null as never)).toThrow(/handler function/);
    expect(bus.signals.activeRules().filter((r) => r.includes('pubsub'))).toEqual([]);
  });
});
