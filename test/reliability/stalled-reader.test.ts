// One stopped subscriber must not stop a publisher for everyone (issue 11,
// item 2). 8 subscribers of a publisher at a fixed rate; one is SIGSTOPped.
// The others keep their rate, a call to a running member completes at once,
// the publisher's memory stays bounded (peerQueueBytes), and the stopped one,
// resumed, gets what fitted in the bound and is told how many it lost.
//
// Over AF_IPN (the VM) the module's rule applies instead: a full receiver
// that reads nothing holds the senders for up to IPN_SO_STALL_TIMEOUT (5 s
// by default), then loses what does not fit. So the measured window starts
// after that timeout, and the rate is scaled to what Node sustains under
// TCG. The kernel counts lost datagrams and a lossless network coalesces
// small signals into batches, so there a loss count can be lower than the
// signals lost; these signals are too large to coalesce, so it is exact.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procsPerFile, until } from './proc.js';
import { BACKEND, perBackend } from '../backend.mjs';

const SCRIPT = join(import.meta.dirname, 'stalled-reader-member.mjs');
const SUBSCRIBERS = 8;
/**
 * Signals per second: 5,000 as in the issue; under TCG 8 Node subscribers
 * sustain far fewer. Measured in the VM at host load 15-17: 100/s of 48 KiB
 * (4.8 MB/s to each of 8 subscribers) saturated all nine processes (an IPC
 * question took 25 s, and the test ran past 420 s before the stop); 80/s of
 * 17 KiB is 1.4 MB/s each.
 */
const RATE = perBackend({ user: 5000, kernel: 80 });
/**
 * Bytes per signal: the stop produces several times the bound of what may
 * wait for the stopped one (user: peerQueueBytes, 16 MiB; AF_IPN: its
 * receive queue, 16 MiB as root, ~21 KiB of it per 17 KiB datagram: ~780
 * signals). Over AF_IPN the rate is low, so the signals are large; above
 * 16 KiB they are never coalesced, so the kernel's count of lost datagrams
 * is the count of lost signals.
 */
const SIZE = perBackend({ user: 1024, kernel: 17 * 1024 });
const BEFORE_MS = perBackend({ user: 2000, kernel: 4000 });
/**
 * The first part of the stop is not measured: the stopped one's socket
 * buffer fills first. Over AF_IPN the others wait for it while its queue
 * fills and then for the stall timeout (5 s), so the measured window starts
 * once they have received FILL signals since the stop (more than its queue
 * holds, 16 MiB: at most ~1,000 of these; they get past it only once it is
 * overrun), whatever rate a loaded machine allows (14-19/s at host load
 * 11-20, where a fixed 20 s did not fill it; then the test took 232-284 s).
 */
const SETTLE_MS = 1000;
const FILL = perBackend({ user: 0, kernel: 1200 });
/** The measured part of the stop. */
const DURING_MS = perBackend({ user: 7000, kernel: 6000 });
/** A call to a running member during the stop takes less than this. */
const CALL_MS = perBackend({ user: 1000, kernel: 3000 });
/** Nine Node processes start at once: seconds each under TCG. */
const TEST_MS = perBackend({ user: 60_000, kernel: 420_000 });

interface Counts {
  received: number;
  lost: number;
  /** The number of the last signal received (numbered from 0). */
  lastSeq: number;
  sent: number;
  rss: number;
}

const files = procsPerFile('stalled');

const sleepUntil = (t: number): Promise<void> => until(() => Date.now() >= t, t - Date.now() + 5000, 'the window to end');


describe(`a stopped subscriber (${BACKEND} backend)`, () => {
  it('does not slow the others, delay calls to them, or grow the publisher without bound', async () => {
    const tStart = Date.now();
    const address = files.address('bus');
    const publisher = files.spawn(SCRIPT, address);
    await publisher.ready;
    const subs = Array.from({ length: SUBSCRIBERS }, () => files.spawn(SCRIPT, address));
    const names = (await Promise.all(subs.map((s) => s.ready))).map((r) => r.uniqueName as string);
    for (const s of subs) await s.do('subscribe');
    const startMs = Date.now() - tStart;
    const counts = (): Promise<Counts[]> => Promise.all(subs.map((s) => s.do<Counts>('counts')));
    const stopped = subs[0]!;
    const running = subs.slice(1);

    await publisher.do('publish', RATE, SIZE);
    await until(async () => (await counts()).every((c) => c.received > 0), perBackend({ user: 10_000, kernel: 60_000 }), 'every subscriber to receive');
    // Before: every subscriber reading, once all have caught up with the
    // publisher (within 200 ms of its traffic), so that the window measures
    // the pace and not a catch-up.
    await until(async () => {
      const sent = (await publisher.do<Counts>('counts')).sent;
      return (await counts()).every((c) => c.received >= sent - RATE / 5);
    }, perBackend({ user: 30_000, kernel: 60_000 }), 'the subscribers to keep pace with the publisher');
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
    await until(async () => (await Promise.all(running.map((s) => s.do<Counts>('counts'))))
      .every((c, i) => c.received - c1[i + 1]!.received >= FILL), 240_000, 'the others to get past the stopped one');
    const r2 = await Promise.all(running.map((s) => s.do<Counts>('counts')));
    const t2 = Date.now();
    const rateSettling = running.map((_, i) => ((r2[i]!.received - c1[i + 1]!.received) * 1000) / (t2 - t));
    const callMs = await publisher.do<number>('ping', names[1]);
    await sleepUntil(t2 + DURING_MS);
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
    // The last signal comes after every loss: once it is in, so is the count.
    await until(async () => {
      last = await stopped.do<Counts>('counts');
      return last.lastSeq === sent - 1;
    }, 30_000, 'the resumed subscriber to get the last signal').catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(last)} of ${sent}; rates before ${rateBefore.join(' ')} during ${rateDuring.join(' ')}; call ${callMs} ms`);
    });
    const resumed = await stopped.do<Counts>('counts');
    // A running subscriber that falls a whole bound behind (a loaded
    // machine) is treated like the stopped one: it too must account for
    // every signal, received or reported lost.
    let others: Counts[] = [];
    await until(async () => (others = await Promise.all(running.map((s) => s.do<Counts>('counts'))))
      .every((c) => c.lastSeq === sent - 1), 30_000, 'the running subscribers to get the last signal').catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(others)} of ${sent}`);
    });

    const before = Math.min(published, rateBefore.reduce((a, b) => a + b, 0) / rateBefore.length);
    const worst = Math.min(...rateDuring) / before;
    const growthMiB = (rssDuring - rssBefore) / 2 ** 20;
    console.log(`stalled reader: published ${published.toFixed(0)}/s; running subscribers' rate before ` +
      `${rateBefore.map((r) => r.toFixed(0)).join(' ')}/s, ` +
      `in the first ${t2 - t} ms of the stop ${rateSettling.map((r) => r.toFixed(0)).join(' ')}/s, ` +
      `after it ${rateDuring.map((r) => r.toFixed(0)).join(' ')}/s (worst ${(worst * 100).toFixed(0)}%); ` +
      `call to a running member during the stop ${callMs.toFixed(1)} ms; publisher RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ` +
      `${(rssDuring / 2 ** 20).toFixed(0)} MiB; resumed subscriber got ${resumed.received}, told of ${resumed.lost} lost, of ${sent}; ` +
      `running subscribers lost ${others.map((c) => c.lost).join(' ')}; ${SUBSCRIBERS + 1} members up in ${startMs} ms`);
    expect(worst).toBeGreaterThanOrEqual(0.7);
    expect(callMs).toBeLessThan(CALL_MS);
    expect(growthMiB).toBeLessThan(96);
    // What did not fit in the bound was lost, counted and reported: nothing vanished silently.
    expect(resumed.lost).toBeGreaterThan(0);
    expect(resumed.received + resumed.lost).toBe(sent);
    for (const c of others) expect(c.received + c.lost).toBe(sent);
  }, TEST_MS);
});
