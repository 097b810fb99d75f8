// One stopped subscriber must not stop a publisher for everyone (issue 11,
// item 2). 8 subscribers of a publisher at a fixed rate; one is SIGSTOPped.
// The others keep their rate, a call to a running member completes at once,
// the publisher's memory stays bounded (peerQueueBytes), and the stopped one,
// resumed, gets what fitted in the bound and is told how many it lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Proc, until } from './proc.js';

const SCRIPT = join(import.meta.dirname, 'stalled-reader-member.mjs');
const SUBSCRIBERS = 8;
const RATE = 5000;
/** Bytes per signal: the stop produces several times the default per-peer bound (16 MiB). */
const SIZE = 1024;
const BEFORE_MS = 2000;
const STOP_MS = 8000;
/** The first part of the stop is not measured: the stopped one's socket buffer fills first. */
const SETTLE_MS = 1000;

interface Counts {
  received: number;
  lost: number;
  sent: number;
  rss: number;
}

let root = '';
let procs: Proc[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ipnbus-stalled-'));
});
afterEach(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.signal('SIGCONT');
  await Promise.all(procs.map((p) => p.kill()));
  procs = [];
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sleepUntil = (t: number): Promise<void> => until(() => Date.now() >= t, t - Date.now() + 5000, 'the window to end');

describe('a stopped subscriber (user backend)', () => {
  it('does not slow the others, delay calls to them, or grow the publisher without bound', async () => {
    const address = `ipnbus:path=${join(root, 'bus')}`;
    const publisher = new Proc(SCRIPT, address);
    procs.push(publisher);
    await publisher.ready;
    const subs = Array.from({ length: SUBSCRIBERS }, () => new Proc(SCRIPT, address));
    procs.push(...subs);
    const names = (await Promise.all(subs.map((s) => s.ready))).map((r) => r.uniqueName as string);
    for (const s of subs) await s.do('subscribe');
    const counts = (): Promise<Counts[]> => Promise.all(subs.map((s) => s.do<Counts>('counts')));
    const stopped = subs[0]!;
    const running = subs.slice(1);

    await publisher.do('publish', RATE, SIZE);
    await until(async () => (await counts()).every((c) => c.received > 0), 10_000, 'every subscriber to receive');
    // Before: every subscriber reading, once all have caught up with the
    // publisher (within 200 ms of its traffic), so that the window measures
    // the pace and not a catch-up.
    await until(async () => {
      const sent = (await publisher.do<Counts>('counts')).sent;
      return (await counts()).every((c) => c.received >= sent - RATE / 5);
    }, 30_000, 'the subscribers to keep pace with the publisher');
    let t = Date.now();
    const p0 = (await publisher.do<Counts>('counts')).sent;
    const c0 = await counts();
    await sleepUntil(t + BEFORE_MS);
    const c1 = await counts();
    const p1 = (await publisher.do<Counts>('counts')).sent;
    // The rate offered: what the running subscribers got before, on average
    // (each one's own window is bursty on a loaded machine).
    const published = ((p1 - p0) * 1000) / (Date.now() - t);
    const rssBefore = (await publisher.do<Counts>('counts')).rss;
    const rateBefore = running.map((_, i) => ((c1[i + 1]!.received - c0[i + 1]!.received) * 1000) / BEFORE_MS);

    // During: one subscriber stopped.
    stopped.signal('SIGSTOP');
    t = Date.now();
    await sleepUntil(t + SETTLE_MS);
    const r2 = await Promise.all(running.map((s) => s.do<Counts>('counts')));
    const t2 = Date.now();
    const callMs = await publisher.do<number>('ping', names[1]);
    await sleepUntil(t + STOP_MS);
    const r3 = await Promise.all(running.map((s) => s.do<Counts>('counts')));
    const during = Date.now() - t2;
    const rssDuring = (await publisher.do<Counts>('counts')).rss;
    const rateDuring = running.map((_, i) => ((r3[i]!.received - r2[i]!.received) * 1000) / during);

    // After: resumed; the publisher stops so that the totals settle.
    stopped.signal('SIGCONT');
    await publisher.do<number>('stopPublishing');
    // Once the resumed one has caught up with what was queued for it, one
    // more signal carries the count of what it lost after that.
    await until(async () => (await publisher.do<number>('waiting')) === 0, 30_000, 'the queue for the resumed one to drain');
    const sent = await publisher.do<number>('publishOne', SIZE);
    let last: Counts | null = null;
    await until(async () => {
      last = await stopped.do<Counts>('counts');
      return last.received + last.lost >= sent;
    }, 30_000, 'the resumed subscriber to account for every signal').catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(last)} of ${sent}; rates before ${rateBefore.join(' ')} during ${rateDuring.join(' ')}; call ${callMs} ms`);
    });
    const resumed = await stopped.do<Counts>('counts');
    // A running subscriber that falls a whole bound behind (a loaded
    // machine) is treated like the stopped one: it too must account for
    // every signal, received or reported lost.
    let others: Counts[] = [];
    await until(async () => (others = await Promise.all(running.map((s) => s.do<Counts>('counts'))))
      .every((c) => c.received + c.lost === sent), 30_000, 'the running subscribers to account for every signal').catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(others)} of ${sent}`);
    });

    const before = Math.min(published, rateBefore.reduce((a, b) => a + b, 0) / rateBefore.length);
    const worst = Math.min(...rateDuring) / before;
    const growthMiB = (rssDuring - rssBefore) / 2 ** 20;
    console.log(`stalled reader: published ${published.toFixed(0)}/s; running subscribers' rate before ` +
      `${rateBefore.map((r) => r.toFixed(0)).join(' ')}/s, ` +
      `during the stop ${rateDuring.map((r) => r.toFixed(0)).join(' ')}/s (worst ${(worst * 100).toFixed(0)}%); ` +
      `call to a running member during the stop ${callMs.toFixed(1)} ms; publisher RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ` +
      `${(rssDuring / 2 ** 20).toFixed(0)} MiB; resumed subscriber got ${resumed.received}, told of ${resumed.lost} lost, of ${sent}; ` +
      `running subscribers lost ${others.map((c) => c.lost).join(' ')}`);
    expect(worst).toBeGreaterThanOrEqual(0.7);
    expect(callMs).toBeLessThan(1000);
    expect(growthMiB).toBeLessThan(96);
    // What did not fit in the bound was lost, counted and reported: nothing vanished silently.
    expect(resumed.lost).toBeGreaterThan(0);
    expect(resumed.received + resumed.lost).toBe(sent);
  });
});
