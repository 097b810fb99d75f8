// Well-known names across processes: replies, FIFO queue, replacement, and owners killed with SIGKILL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, freshBus, timeout, type TestBus } from './helpers/bus.js';
import { Member, RemoteCallError, isNOC } from './helpers/member.js';
import { until } from './helpers/until.js';
import { connect, type Connection } from '../../src/core/index.js';
import type { Message } from '../../src/wire/index.js';

const NAME = 'org.example.Shared';
const F = { ALLOW_REPLACEMENT: 1, REPLACE_EXISTING: 2, DO_NOT_QUEUE: 4 };
const R = { PRIMARY_OWNER: 1, IN_QUEUE: 2, EXISTS: 3, ALREADY_OWNER: 4 };
const REL = { RELEASED: 1, NON_EXISTENT: 2, NOT_OWNER: 3 };

let bus: TestBus;
let observer: Connection;
const seen: Message[] = [];


async function queued(name: string): Promise<string[]> {
  const { reply } = await observer.call({
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    interface: 'org.freedesktop.DBus',
    member: 'ListQueuedOwners',
    signature: 's',
    body: [name],
  });
  return reply.body[0] as string[];
}

beforeAll(async () => {
  bus = freshBus('names');
  observer = await connect({ address: bus.address, backend: BACKEND });
  observer.addMatch("type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'");
  observer.on('message', (m: Message) => seen.push(m));
});

afterAll(() => {
  observer?.disconnect();
  bus?.cleanup();
});

describe('name ownership across processes', () => {
  it('gives the spec replies, keeps a FIFO queue and promotes on release', async () => {
    const [a, b, c] = await Member.startMany(bus.address, 3);
    try {
      expect(await a!.do('requestName', NAME, 0)).toBe(R.PRIMARY_OWNER);
      expect(await a!.do('requestName', NAME, 0)).toBe(R.ALREADY_OWNER);
      expect(await b!.do('requestName', NAME, F.DO_NOT_QUEUE)).toBe(R.EXISTS);
      expect(await c!.do('requestName', NAME, 0)).toBe(R.IN_QUEUE);
      expect(await b!.do('requestName', NAME, 0)).toBe(R.IN_QUEUE);
      await until(() => observer.getNameOwner(NAME) === a!.uniqueName);
      await until(() => observer.view.nameState(NAME)?.owners.length === 3);
      expect(await queued(NAME)).toEqual([a!.uniqueName, c!.uniqueName, b!.uniqueName]);
      // Every member's view agrees.
      expect(await b!.do('getNameOwner', NAME)).toBe(a!.uniqueName);

      await a!.waitFor((m) => m.member === 'NameAcquired' && m.body[0] === NAME);
      expect(await b!.do('releaseName', 'org.example.NotHeld')).toBe(REL.NON_EXISTENT);
      expect(await b!.do('releaseName', NAME)).toBe(REL.RELEASED);
      expect(await b!.do('releaseName', NAME)).toBe(REL.NOT_OWNER);
      expect(await a!.do('releaseName', NAME)).toBe(REL.RELEASED);
      await a!.waitFor((m) => m.member === 'NameLost' && m.body[0] === NAME);
      await c!.waitFor((m) => m.member === 'NameAcquired' && m.body[0] === NAME);
      await until(() => observer.getNameOwner(NAME) === c!.uniqueName);
      const noc = seen.filter(isNOC(NAME)).map((m) => m.body);
      expect(noc).toEqual([
        [NAME, '', a!.uniqueName],
        [NAME, a!.uniqueName, c!.uniqueName],
      ]);
      expect(await c!.do('releaseName', NAME)).toBe(REL.RELEASED);
      await until(() => observer.getNameOwner(NAME) === undefined);
    } finally {
      await Promise.all([a!.stop(), b!.stop(), c!.stop()]);
    }
  });

  it('replaces an owner that allows it; the old owner goes to the head of the queue', async () => {
    const N = 'org.example.Replace';
    const [a, b, c] = await Member.startMany(bus.address, 3);
    try {
      expect(await a!.do('requestName', N, F.ALLOW_REPLACEMENT)).toBe(R.PRIMARY_OWNER);
      expect(await c!.do('requestName', N, 0)).toBe(R.IN_QUEUE);
      expect(await b!.do('requestName', N, F.REPLACE_EXISTING)).toBe(R.PRIMARY_OWNER);
      await a!.waitFor((m) => m.member === 'NameLost' && m.body[0] === N);
      await b!.waitFor((m) => m.member === 'NameAcquired' && m.body[0] === N);
      await until(() => observer.getNameOwner(N) === b!.uniqueName);
      expect(await queued(N)).toEqual([b!.uniqueName, a!.uniqueName, c!.uniqueName]);
      // b did not allow replacement: a cannot take it back.
      expect(await a!.do('requestName', N, F.REPLACE_EXISTING | F.DO_NOT_QUEUE)).toBe(R.EXISTS);
      await until(() => observer.view.nameState(N)?.owners.length === 2);
      expect(await queued(N)).toEqual([b!.uniqueName, c!.uniqueName]);
    } finally {
      await Promise.all([a!.stop(), b!.stop(), c!.stop()]);
    }
  });

  it('passes a name down the queue when owners are killed with SIGKILL', async () => {
    const N = 'org.example.Killed';
    const [a, b, c] = await Member.startMany(bus.address, 3);
    try {
      expect(await a!.do('requestName', N, 0)).toBe(R.PRIMARY_OWNER);
      expect(await b!.do('requestName', N, 0)).toBe(R.IN_QUEUE);
      expect(await c!.do('requestName', N, 0)).toBe(R.IN_QUEUE);
      await until(() => observer.view.nameState(N)?.owners.length === 3);

      await a!.kill('SIGKILL');
      await b!.waitFor((m) => m.member === 'NameAcquired' && m.body[0] === N);
      await until(() => seen.some((m) => isNOC(N)(m) && m.body[1] === a!.uniqueName));
      expect(seen.filter(isNOC(N)).at(-1)!.body).toEqual([N, a!.uniqueName, b!.uniqueName]);
      // The unique name of the dead member goes too.
      await until(() => seen.some((m) => isNOC(a!.uniqueName)(m) && m.body[2] === ''));
      expect(await c!.do('getNameOwner', N)).toBe(b!.uniqueName);
      await until(async () => (await queued(N)).length === 2);

      // A newcomer sees the record the promoted owner wrote, not the dead one.
      const d = await Member.start(bus.address);
      try {
        expect(await d.do('getNameOwner', N)).toBe(b!.uniqueName);
        expect(await d.do('requestName', N, 0)).toBe(R.IN_QUEUE);
        await b!.kill('SIGKILL');
        await c!.waitFor((m) => m.member === 'NameAcquired' && m.body[0] === N);
        await until(() => observer.getNameOwner(N) === c!.uniqueName);
        expect(await d.do('getNameOwner', N)).toBe(c!.uniqueName);
        await until(() => observer.view.nameState(N)?.owners.length === 2);
        expect(await queued(N)).toEqual([c!.uniqueName, d.uniqueName]);
      } finally {
        await d.stop();
      }
    } finally {
      await Promise.all([a!.stop(), b!.stop(), c!.stop()]);
    }
  });

  it('serialises concurrent requests: one owner, one FIFO queue every member agrees on, kept through kills', async () => {
    const N = 'org.example.Race';
    const members = await Member.startMany(bus.address, 6);
    try {
      const replies = await Promise.all(members.map((m) => m.do<number>('requestName', N, 0)));
      expect(replies.filter((r) => r === R.PRIMARY_OWNER)).toHaveLength(1);
      expect(replies.filter((r) => r === R.IN_QUEUE)).toHaveLength(5);
      await until(() => observer.view.nameState(N)?.owners.length === 6);
      const order = await queued(N);
      expect(new Set(order).size).toBe(6);
      expect(order[0]).toBe(members[replies.indexOf(R.PRIMARY_OWNER)]!.uniqueName);
      for (const m of members) expect(await m.do('getNameOwner', N)).toBe(order[0]);
      // Kill owners one after the other: the name walks down the queue in order.
      const byName = new Map(members.map((m) => [m.uniqueName, m]));
      for (let i = 0; i < order.length - 1; i++) {
        await byName.get(order[i]!)!.kill('SIGKILL');
        const next = byName.get(order[i + 1]!)!;
        await next.waitFor((m) => m.member === 'NameAcquired' && m.body[0] === N);
        await until(() => observer.getNameOwner(N) === next.uniqueName);
      }
      await until(async () => (await queued(N)).length === 1);
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
  });

  it('rejects invalid names with InvalidArgs', async () => {
    for (const bad of [':1.5', 'org.freedesktop.DBus', 'nodots', '', 'a..b']) {
      await expect(observer.requestName(bad), bad).rejects.toMatchObject({ name: 'org.freedesktop.DBus.Error.InvalidArgs' });
    }
    const m = await Member.start(bus.address);
    try {
      const err = await m.do('requestName', 'no dots', 0).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCallError);
      expect((err as RemoteCallError).remote.name).toBe('org.freedesktop.DBus.Error.InvalidArgs');
    } finally {
      await m.stop();
    }
  });
});

describe('unique names over the life of a bus', () => {
  // Regression: on the kernel backend a network dies with its last member
  // and its replacement restarts member ids at 1; unique names and the
  // name records of the dead network must not be taken for new members.
  it('never reuses a unique name after every member left, and forgets the dead owners of names', async () => {
    const gen = freshBus('generations');
    const N = 'org.example.Generations';
    const used = new Set<string>();
    // Fewer members in the kernel-test VM (TCG), where each start costs seconds.
    const K = process.env.IPNBUS_VM === '1' ? 3 : 4;
    try {
      const a = await Member.start(gen.address);
      used.add(a.uniqueName);
      expect(await a.do('requestName', N, 0)).toBe(R.PRIMARY_OWNER);
      await a.kill('SIGKILL');
      for (let round = 2; round <= 3; round++) {
        // Members arriving together at a dead bus all end up in one network.
        const ms = await Member.startMany(gen.address, K);
        try {
          for (const m of ms) {
            expect(used.has(m.uniqueName)).toBe(false);
            used.add(m.uniqueName);
            if (BACKEND === 'kernel') expect(m.uniqueName).toMatch(new RegExp(`^:${round}\\.\\d+$`));
          }
          const everyone = ms.map((m) => m.uniqueName).sort();
          for (const m of ms) {
            await until(async () => (await m.do<string[]>('listNames')).filter((n) => n.startsWith(':')).length === K);
            expect((await m.do<string[]>('listNames')).filter((n) => n.startsWith(':')).sort()).toEqual(everyone);
            expect(await m.do('getNameOwner', N)).toBe(null);
          }
          expect(await ms[0]!.do('requestName', N, 0)).toBe(R.PRIMARY_OWNER);
          expect(await ms[1]!.do('getNameOwner', N)).toBe(ms[0]!.uniqueName);
        } finally {
          // SIGKILL: the name record stays behind with a dead owner.
          await Promise.all(ms.map((m) => m.kill('SIGKILL')));
        }
      }
    } finally {
      gen.cleanup();
    }
  }, timeout(120_000));
});
