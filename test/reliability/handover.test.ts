// A name handed to a queued successor when its owner is SIGKILLed: every observer sees one NameOwnerChanged(old -> new).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKEND, freshBus, type TestBus } from '../../packages/bus/test/core/helpers/bus.js';
import { Member } from '../../packages/bus/test/core/helpers/member.js';
import { until } from '../../packages/bus/test/core/helpers/until.js';
import type { Message } from '../../packages/bus/src/wire/index.js';
import { perBackend } from '../backend.mjs';

const DBUS_NEXT_MEMBER = fileURLToPath(new URL('./helpers/dbus-next-member.mjs', import.meta.url));
/**
 * Issue 11's 1,000 kills on the user backend (about 4-5 min on 2 shared
 * cores: a member process start per round); 10 over AF_IPN, where a
 * round's process start takes 5-15 s under TCG. IPNBUS_HANDOVER_ROUNDS
 * sets another count.
 */
const ROUNDS = Number(process.env.IPNBUS_HANDOVER_ROUNDS ?? perBackend({ user: 1000, kernel: 10 }));
/** dbus-daemon's rounds: reference figures only (IPNBUS_HANDOVER_REFERENCE_ROUNDS). */
const REFERENCE_ROUNDS = Number(process.env.IPNBUS_HANDOVER_REFERENCE_ROUNDS ?? perBackend({ user: 50, kernel: 5 }));
/** A round costs a process start (~0.4 s on 2 busy cores, several seconds under TCG). */
const timeoutFor = (rounds: number): number => perBackend({ user: 60_000, kernel: 120_000 }) + rounds * perBackend({ user: 2_000, kernel: 20_000 });
const OBSERVERS = 8;
/** Kills whose owner's locks are held past its death by a process sharing them. */
const LOCK_ROUNDS = perBackend({ user: 20, kernel: 3 });
const NAME = 'org.example.Handover';
const RULE = `type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${NAME}'`;
const IN_QUEUE = 2;
const PRIMARY_OWNER = 1;

const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface HandoverRun {
  /** Rounds in which some observer did not see exactly one NameOwnerChanged(old, new). */
  misses: string[];
  /** Kill to observed NameOwnerChanged, ms, for every observer and round. */
  latencies: number[];
}

function nocs(m: Member, from: number): Message[] {
  return m.received
    .slice(from)
    .map((r) => r.msg)
    .filter((msg) => msg.type === 4 && msg.member === 'NameOwnerChanged' && msg.body[0] === NAME);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(label: string, run: HandoverRun): string {
  const s = [...run.latencies].sort((a, b) => a - b);
  return `${label}: ${run.latencies.length / OBSERVERS} kills x ${OBSERVERS} observers, ${run.misses.length} rounds missed; observe latency p50 ${percentile(s, 50)} ms, p99 ${percentile(s, 99)} ms, max ${s[s.length - 1]} ms`;
}

/**
 * `rounds` rounds of: a fresh member queues for the name behind the owner (IN_QUEUE
 * replied, so the queue change is done), the owner is SIGKILLed at once,
 * and every observer must see exactly NameOwnerChanged(NAME, owner, successor),
 * which then owns the name for the next round.
 */
async function handovers(address: string, script: string | undefined, rounds: number): Promise<HandoverRun> {
  const start = (): Promise<Member> => Member.start(address, script);
  const observers = await Promise.all(Array.from({ length: OBSERVERS }, start));
  cleanups.push(() => Promise.all(observers.map((o) => o.stop())).then(() => undefined));
  await Promise.all(observers.map((o) => o.do('addMatch', RULE)));
  let owner = await start();
  expect(await owner.do('requestName', NAME, 0)).toBe(PRIMARY_OWNER);
  // Successors start ahead of their round: starting a process costs far more than a round.
  const spares = [start(), start()];
  const run: HandoverRun = { misses: [], latencies: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      const next = await spares.shift()!;
      spares.push(start());
      expect(await next.do('requestName', NAME, 0)).toBe(IN_QUEUE);
      const marks = observers.map((o) => o.received.length);
      const killedAt = Date.now();
      await owner.kill('SIGKILL');
      const handedOver = (o: Member, i: number): boolean => nocs(o, marks[i]!).some((m) => m.body[2] === next.uniqueName);
      await until(() => observers.every(handedOver), 10_000, `round ${round}: every observer sees ${next.uniqueName} own ${NAME}`);
      observers.forEach((o, i) => {
        const seen = nocs(o, marks[i]!);
        const expected = [NAME, owner.uniqueName, next.uniqueName];
        if (seen.length !== 1 || JSON.stringify(seen[0]!.body) !== JSON.stringify(expected)) {
          run.misses.push(`round ${round}, observer ${i}: ${JSON.stringify(seen.map((m) => m.body))}`);
        }
        const at = o.received.slice(marks[i]!).find((r) => r.msg.member === 'NameOwnerChanged' && r.msg.body[2] === next.uniqueName)!.at;
        run.latencies.push(at - killedAt);
      });
      owner = next;
    }
  } finally {
    await owner.stop();
    for (const s of spares) await (await s).stop();
  }
  return run;
}

describe('a name handover when the owner is SIGKILLed right after a successor queued', () => {
  it(`ipnbus (${BACKEND} backend): one NameOwnerChanged(old -> new) per kill, at every observer`, async () => {
    const bus: TestBus = freshBus('handover');
    cleanups.push(() => bus.cleanup());
    const run = await handovers(bus.address, undefined, ROUNDS);
    console.log(summary(`ipnbus ${BACKEND}`, run));
    if (run.misses.length > 0) console.log(run.misses.slice(0, 10).join('\n'));
    expect(run.misses).toEqual([]);
  }, timeoutFor(ROUNDS));

  it(`ipnbus (${BACKEND} backend): one NameOwnerChanged(old -> new) while the killed owner's locks outlive its sockets`, async () => {
    // The race behind CI's rare miss, made to last: the successor saw the
    // leave and wrote the handover record while the dead owner's owner lock
    // was still held, so observers that saw the leave later checked the
    // record against that lock and announced "no owner" first.
    const bus: TestBus = freshBus('handover-locks');
    cleanups.push(() => bus.cleanup());
    const observers = await Promise.all(Array.from({ length: OBSERVERS }, () => Member.start(bus.address)));
    cleanups.push(() => Promise.all(observers.map((o) => o.stop())).then(() => undefined));
    await Promise.all(observers.map((o) => o.do('addMatch', RULE)));
    let owner = await Member.start(bus.address);
    expect(await owner.do('requestName', NAME, 0)).toBe(PRIMARY_OWNER);
    const misses: string[] = [];
    for (let round = 0; round < LOCK_ROUNDS; round++) {
      const next = await Member.start(bus.address);
      expect(await next.do('requestName', NAME, 0)).toBe(IN_QUEUE);
      const holder = (await owner.do('shareLocks')) as { pid: number };
      const marks = observers.map((o) => o.received.length);
      try {
        await owner.kill('SIGKILL');
        const handedOver = (o: Member, i: number): boolean => nocs(o, marks[i]!).some((m) => m.body[2] === next.uniqueName);
        const decided = (o: Member, i: number): boolean => nocs(o, marks[i]!).some((m) => m.body[1] === owner.uniqueName);
        // Either outcome is final while the locks are held: the handover, or "no owner" (the miss).
        await until(() => observers.every((o, i) => handedOver(o, i) || decided(o, i)), 10_000, `round ${round}: every observer sees ${owner.uniqueName} go`);
        observers.forEach((o, i) => {
          const seen = nocs(o, marks[i]!).map((m) => m.body);
          if (JSON.stringify(seen) !== JSON.stringify([[NAME, owner.uniqueName, next.uniqueName]])) {
            misses.push(`round ${round}, observer ${i}: ${JSON.stringify(seen)}`);
          }
        });
      } finally {
        process.kill(holder.pid, 'SIGKILL');
      }
      owner = next;
    }
    await owner.stop();
    console.log(`locks outliving sockets: ${LOCK_ROUNDS} kills x ${OBSERVERS} observers, ${misses.length} misses`);
    expect(misses).toEqual([]);
  }, timeoutFor(LOCK_ROUNDS));

  it('dbus-daemon, the same rounds with dbus-next clients (reference figures)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipnbus-handover-daemon-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const daemon: ChildProcess = spawn(
      'dbus-daemon',
      ['--session', '--nofork', '--print-address=1', `--address=unix:path=${join(dir, 'bus')}`],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    cleanups.push(() => void daemon.kill());
    const address = await new Promise<string>((resolve, reject) => {
      let buf = '';
      daemon.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      daemon.once('error', reject);
    });
    const run = await handovers(address, DBUS_NEXT_MEMBER, REFERENCE_ROUNDS);
    console.log(summary('dbus-daemon', run));
    expect(run.misses).toEqual([]);
  }, timeoutFor(REFERENCE_ROUNDS));
});
