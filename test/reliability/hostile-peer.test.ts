// A hostile same-uid process against the user backend's mesh (issue 11,
// item 5): it connects to a member's socket itself and sends a hello that
// claims another live member's id, an empty datagram, and control messages
// cut short. The victim must believe none of it, keep reaching the real
// member both ways, and drop nobody but (for the forged hello) the liar.
// Each refusal reaches the victim's application as a 'rejected' event.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Proc, until } from './proc.js';

const MEMBER = join(import.meta.dirname, 'churn-member.mjs');
const ATTACKER = join(import.meta.dirname, 'hostile-peer-attacker.mjs');

let root = '';
let procs: Proc[] = [];
let n = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ipnbus-hostile-'));
});
afterEach(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  procs = [];
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const idOf = (unique: string): number => Number(/^:\d+\.(\d+)$/.exec(unique)![1]);

interface Rejection {
  sender: string | null;
  pid: number;
  reason: string;
}

/** Waits until the victim's 'rejected' events name every reason in `reasons`, each from the attacker's process. */
async function reported(victim: Proc, attacker: Proc, reasons: string[]): Promise<void> {
  let seen: Rejection[] = [];
  await until(async () => {
    seen = await victim.do<Rejection[]>('rejections');
    return reasons.every((r) => seen.some((s) => s.reason.includes(r)));
  }, 5000, `the victim to report ${reasons.join(', ')}`).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(seen)}`);
  });
  for (const r of seen) expect(r.pid).toBe(attacker.child.pid);
}

/** A victim, the real member and an attacker on a fresh bus. */
async function setup(): Promise<{ victim: Proc; real: Proc; attacker: Proc; victimName: string; realName: string }> {
  const busDir = join(root, `bus${++n}`);
  const address = `ipnbus:path=${busDir}`;
  const victim = new Proc(MEMBER, address);
  const real = new Proc(MEMBER, address);
  procs.push(victim, real);
  await Promise.all([victim.ready, real.ready]);
  const victimName = await victim.do<string>('join');
  const realName = await real.do<string>('join');
  // The attacker finds the mesh where every member does: <bus dir>/bus.
  const attacker = new Proc(ATTACKER, address, { IPNBUS_NETWORK: join(busDir, 'bus') });
  procs.push(attacker);
  await attacker.ready;
  return { victim, real, attacker, victimName, realName };
}

/** Both directions work, each call answered by the real member within 3 s. */
async function stillMeet(victim: Proc, victimName: string, real: Proc, realName: string): Promise<void> {
  await victim.do('echo', realName, 3000);
  await real.do('echo', victimName, 3000);
}

describe('a hostile same-uid peer (user backend)', () => {
  it('a hello claiming the id of a live member is refused, and the victim still reaches the real member', async () => {
    const { victim, real, attacker, victimName, realName } = await setup();
    await stillMeet(victim, victimName, real, realName);
    const fd = await attacker.do<number>('connect', idOf(victimName));
    await attacker.do('hello', fd, idOf(realName));
    // The liar is cut off ...
    await until(() => attacker.do<boolean>('hungUp', fd), 5000, 'the victim to hang up on the forged hello');
    await reported(victim, attacker, [`hello claims member ${idOf(realName)}`]);
    // ... and the victim's calls to that id still reach the real member
    // (the attacker never answers: a call routed to it would time out).
    await stillMeet(victim, victimName, real, realName);
  });

  it('an empty datagram is rejected, not taken for a hang-up; nobody is dropped', async () => {
    const { victim, real, attacker, victimName, realName } = await setup();
    const fd = await attacker.do<number>('connect', idOf(victimName));
    await attacker.do('empty', fd);
    await stillMeet(victim, victimName, real, realName);
    await reported(victim, attacker, ['empty datagram']);
    // Still connected: the empty datagram was dropped, not read as the end.
    expect(await attacker.do<boolean>('hungUp', fd)).toBe(false);
  });

  it('control messages cut short are rejected; the victim keeps its peers and their filters', async () => {
    const { victim, real, attacker, victimName, realName } = await setup();
    const fd = await attacker.do<number>('connect', idOf(victimName));
    await attacker.do('truncatedHello', fd);
    await attacker.do('truncatedFilter', fd);
    await attacker.do('empty', fd);
    await stillMeet(victim, victimName, real, realName);
    await reported(victim, attacker, ['short hello', 'message before hello', 'empty datagram']);
    expect(await attacker.do<boolean>('hungUp', fd)).toBe(false);
  });
});
