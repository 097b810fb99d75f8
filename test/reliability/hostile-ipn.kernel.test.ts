// A hostile same-uid process against a member over AF_IPN (kernel backend;
// the user backend's mesh has its own test, hostile-peer.test.ts): it joins
// the network with a raw socket and sends a member what no honest member
// would. The kernel stamps its real id and pid on each datagram, so it
// cannot pose as another member; what it sends is refused, reported to the
// victim as a 'rejected' event naming it, and the victim keeps its peers.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from './proc.js';
import { attackScenes, idOf, reported, stillMeet, type AttackScene } from './helpers/attack.js';

const scene = attackScenes('hostile-ipn', join(import.meta.dirname, 'hostile-ipn-attacker.mjs'));
const MIB = 2 ** 20;

/** The attacker's unique name as the bus writes it: the kernel gave it its id. */
async function attackerName(s: AttackScene): Promise<string> {
  const generation = /^:(\d+)\./.exec(s.victimName)![1]!;
  return `:${generation}.${await s.attacker.do<string>('id')}`;
}

describe('a hostile same-uid member over AF_IPN (kernel backend)', () => {
  it('garbage is refused and reported naming the real sender; the victim keeps its peers', async () => {
    const s = await scene();
    const { attacker, victimName, realName } = s;
    const to = idOf(victimName);
    await attacker.do('empty', to);
    await attacker.do('garbage', to);
    // A user-backend hello claiming the real member's id means nothing here.
    await attacker.do('hello', to, idOf(realName));
    await attacker.do('badBatch', to);
    await attacker.do('oversized', to, 129 * MIB);
    const expected = ['empty datagram', 'not an ipnbus header', 'unknown kind 3', 'malformed batch', 'message size limit'];
    const seen = await reported(s, expected, 30_000);
    console.log(`hostile member over AF_IPN: the victim reported ${JSON.stringify(seen)}`);
    // In the order sent (one sender's datagrams keep theirs), each naming the attacker.
    expected.forEach((reason, i) => expect(seen[i]!.reason).toContain(reason));
    const name = await attackerName(s);
    for (const r of seen) expect(r.sender).toBe(name);
    await stillMeet(s);
  });

  it('a SENDER field naming another member is overwritten with the real sender', async () => {
    const s = await scene();
    const { victim, attacker, victimName, realName } = s;
    await attacker.do('forgedSignal', idOf(victimName), victimName, realName);
    let notes: string[] = [];
    await until(async () => (notes = await victim.do<string[]>('notes')).length > 0, 30_000, 'the signal');
    expect(notes).toEqual([await attackerName(s)]);
  });

  it('a fragment bomb stays within the announced length and the victim keeps serving', async () => {
    const s = await scene();
    const { victim, attacker, victimName } = s;
    // Scaled from the user-backend test's 128/256 MiB: Node copies every
    // byte under TCG; the bound under test is the same (announced + slack).
    const announced = 16 * MIB;
    const sent = 32 * MIB;
    const rssBefore = await victim.do<number>('rss');
    let peak = rssBefore;
    let bombing = true;
    const bomb = attacker.do<number>('bomb', idOf(victimName), announced, sent).finally(() => {
      bombing = false;
    });
    let calls = 0;
    while (bombing) {
      peak = Math.max(peak, await victim.do<number>('rss'));
      await stillMeet(s);
      calls++;
    }
    await bomb;
    peak = Math.max(peak, await victim.do<number>('rss'));
    await stillMeet(s);
    const seen = await reported(s, ['fragment layout']);
    const growth = (peak - rssBefore) / MIB;
    console.log(`fragment bomb over AF_IPN: ${sent / MIB} MiB sent announcing ${announced / MIB} MiB; victim RSS ` +
      `+${growth.toFixed(0)} MiB at peak; ${calls} call pairs during it; refusals ${JSON.stringify(seen.map((r) => r.reason))}`);
    expect(growth).toBeLessThan(announced / MIB + 96);
  });
});
