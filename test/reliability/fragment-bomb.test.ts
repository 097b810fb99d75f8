// A fragment bomb from a hostile same-uid process (issue 11, item 8): a
// fragmented message that never finishes must not grow the receiver without
// bound (it grew by 267 MiB for 256 MiB sent), and the receiver keeps
// serving the others meanwhile and after.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackScenes, idOf } from './helpers/attack.js';

const scene = attackScenes('bomb', join(import.meta.dirname, 'hostile-peer-attacker.mjs'));
const MIB = 1024 * 1024;
/** Announced: the D-Bus (and transport) message limit. Sent: twice that. */
const ANNOUNCED = 128 * MIB;
const SENT = 256 * MIB;

describe('a fragment bomb (user backend)', () => {
  it('a never-finished message stays within the message limit and the receiver keeps serving', async () => {
    const { victim, real, attacker, victimName, realName } = await scene();
    // A peer the victim believes: it listens on the id it claims.
    const fakeId = 1_000_000;
    await attacker.do('listenAs', fakeId);
    const fd = await attacker.do<number>('connect', idOf(victimName));
    await attacker.do('hello', fd, fakeId);

    const rssBefore = await victim.do<number>('rss');
    let peak = rssBefore;
    let calls = 0;
    let slowest = 0;
    let bombing = true;
    const bomb = attacker.do<number>('bomb', fd, ANNOUNCED, SENT).finally(() => {
      bombing = false;
    });
    // While it lasts: the victim's memory, and calls both ways.
    while (bombing) {
      peak = Math.max(peak, await victim.do<number>('rss'));
      const t0 = Date.now();
      await victim.do('echo', realName, 5000);
      await real.do('echo', victimName, 5000);
      slowest = Math.max(slowest, Date.now() - t0);
      calls++;
    }
    await bomb;
    peak = Math.max(peak, await victim.do<number>('rss'));
    await victim.do('echo', realName, 5000);
    await real.do('echo', victimName, 5000);
    const growth = (peak - rssBefore) / MIB;
    console.log(`fragment bomb: ${SENT / MIB} MiB sent announcing ${ANNOUNCED / MIB} MiB; victim RSS ` +
      `${(rssBefore / MIB).toFixed(0)} -> peak ${(peak / MIB).toFixed(0)} MiB (+${growth.toFixed(0)}); ` +
      `${calls} call pairs during it, slowest ${slowest} ms`);
    // At most the announced message (the limit) plus working slack (receive
    // buffers not yet collected).
    expect(growth).toBeLessThan(ANNOUNCED / MIB + 96);
    expect(calls).toBeGreaterThan(0);
  });
});
