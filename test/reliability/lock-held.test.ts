// Locks held by another process never freeze a member: the mesh lock, a name guard and bus.lock each held for seconds.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, freshBus, type TestBus } from '../../packages/bus/test/core/helpers/bus.js';
import { Member } from '../../packages/bus/test/core/helpers/member.js';
import { connect, type Connection } from '../../packages/bus/src/core/index.js';
import type { Message } from '../../packages/bus/src/wire/index.js';
import { LockHolder } from './helpers/lock-holder.js';

const T = { path: '/org/example/Test', interface: 'org.example.Test' };
/** How long the other process holds a lock: the figure issue 11 measured (a 5,000 ms freeze). */
const HOLD_MS = 5000;
/** Longer than the old 5 s lock timeout of core, so a wait that gives up early fails. */
const LONG_HOLD_MS = 6000;
/**
 * Worst latency accepted while a lock is held: far below the 5,000 ms freeze,
 * with room for 2 shared cores under parallel load (seen up to ~550 ms).
 */
const FAST_MS = 1500;

let bus: TestBus;
let me: Connection;
let server: Member;

/**
 * Holds the lock `holdMs` more, running `op` back to back (20 ms apart)
 * meanwhile and until the release: its worst latency, and when the holder let go.
 */
async function duringHold(
  holder: LockHolder,
  holdMs: number,
  op: () => Promise<unknown>,
): Promise<{ worst: number; count: number; releasedAt: number }> {
  let releasedAt: number | undefined;
  const releasing = new Promise((r) => setTimeout(r, holdMs))
    .then(() => holder.release())
    .then((at) => (releasedAt = at));
  let worst = 0;
  let count = 0;
  while (releasedAt === undefined) {
    const t0 = performance.now();
    await op();
    worst = Math.max(worst, performance.now() - t0);
    count++;
    await new Promise((r) => setTimeout(r, 20));
  }
  await releasing;
  return { worst: Math.round(worst), count, releasedAt };
}

const echo = (): Promise<unknown> =>
  me.call({ destination: server.uniqueName, ...T, member: 'Echo', signature: 's', body: ['ping'] }, { timeoutMs: 20000 });

beforeAll(async () => {
  bus = freshBus('lock-held');
  me = await connect({ address: bus.address, backend: BACKEND });
  server = await Member.start(bus.address);
  await server.do('serve');
});

afterAll(async () => {
  me?.disconnect();
  await server?.stop();
  bus?.cleanup();
});

describe.skipIf(BACKEND !== 'user')('the user mesh lock (ipnbus.lock) held by another process', () => {
  it('a member joining again meanwhile keeps answering calls; its join completes on release', async () => {
    const holder = await LockHolder.hold(join(bus.path, 'bus', 'ipnbus.lock'));
    try {
      const joining = server.do<{ connectedAt: number }>('connectAgain');
      const { releasedAt, ...calls } = await duringHold(holder, HOLD_MS, echo);
      const joined = await joining;
      console.log(`ipnbus.lock held ${HOLD_MS} ms during a join: worst call latency ${calls.worst} ms over ${calls.count} calls; join done ${joined.connectedAt - releasedAt} ms after release`);
      expect(joined.connectedAt).toBeGreaterThanOrEqual(releasedAt);
      expect(calls.worst).toBeLessThan(FAST_MS);
    } finally {
      holder.kill();
    }
  });

  it('a member that broadcasts meanwhile keeps its event loop free; the signal arrives after release', async () => {
    const got: Array<{ msg: Message; at: number }> = [];
    const onMessage = (msg: Message): void => {
      if (msg.interface === 'org.example.Held') got.push({ msg, at: Date.now() });
    };
    me.on('message', onMessage);
    me.addMatch("type='signal',interface='org.example.Held'");
    await me.settle();
    const holder = await LockHolder.hold(join(bus.path, 'bus', 'ipnbus.lock'));
    try {
      // Not awaited before the hold: a member frozen in flock cannot even answer.
      const emitted = server.do('emit', '/org/example/Held', 'org.example.Held', 'Tick', 's', ['under the lock']);
      const { releasedAt, ...loop } = await duringHold(holder, HOLD_MS, () => server.do('now'));
      await emitted;
      const deadline = Date.now() + 5000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      console.log(`ipnbus.lock held ${HOLD_MS} ms during a broadcast: worst event-loop round trip of the broadcaster ${loop.worst} ms over ${loop.count}; signal ${got.length ? got[0]!.at - releasedAt : 'never'} ms after release`);
      expect(got.map((g) => g.msg.body)).toEqual([['under the lock']]);
      expect(loop.worst).toBeLessThan(FAST_MS);
    } finally {
      holder.kill();
      me.off('message', onMessage);
    }
  });
});

describe('core locks held by another process', () => {
  it('a name guard held 6 s: RequestName waits without blocking, calls keep flowing, and it succeeds on release', async () => {
    const name = 'org.example.Held';
    const holder = await LockHolder.hold(join(bus.path, 'names', `${name}.lock`));
    try {
      const request = server.do<number>('requestName', name, 0).then(
        (reply) => ({ reply, at: Date.now() }),
        (e: Error) => ({ error: e.message, at: Date.now() }),
      );
      const { releasedAt, ...calls } = await duringHold(holder, LONG_HOLD_MS, echo);
      const out = await request;
      console.log(`name guard held ${LONG_HOLD_MS} ms: worst call latency ${calls.worst} ms; RequestName ${JSON.stringify(out)} (${out.at - releasedAt} ms after release)`);
      expect(out).toMatchObject({ reply: 1 });
      expect(out.at).toBeGreaterThanOrEqual(releasedAt);
      expect(calls.worst).toBeLessThan(FAST_MS);
    } finally {
      holder.kill();
    }
  });

  it('bus.lock held 6 s while the first member creates a bus: connect waits and completes on release', async () => {
    const other = freshBus('lock-held-create');
    mkdirSync(other.path, { recursive: true, mode: 0o700 });
    const holder = await LockHolder.hold(join(other.path, 'bus.lock'));
    let created: Connection | undefined;
    try {
      const connecting = connect({ address: other.address, backend: BACKEND }).then(
        (c) => ((created = c), { at: Date.now() }),
        (e: Error) => ({ error: e.message, at: Date.now() }),
      );
      const { releasedAt, ...calls } = await duringHold(holder, LONG_HOLD_MS, echo);
      const out = await connecting;
      console.log(`bus.lock held ${LONG_HOLD_MS} ms: worst call latency ${calls.worst} ms; connect ${JSON.stringify(out)} (${out.at - releasedAt} ms after release)`);
      expect(out).not.toHaveProperty('error');
      expect(out.at).toBeGreaterThanOrEqual(releasedAt);
    } finally {
      holder.kill();
      created?.disconnect();
      other.cleanup();
    }
  });
});
