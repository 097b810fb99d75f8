// What the attack tests share (hostile-peer, fragment-bomb, hostile-ipn):
// a victim, the real member it talks to and an attacker process on a fresh
// bus per test, all killed after it; the checks that the victim still
// reaches the real member and reported what it refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { Proc, until } from '../proc.js';

const MEMBER = join(import.meta.dirname, '..', 'churn-member.mjs');

/** A refusal as the victim's connection reported it ('rejected'). */
export interface Rejection {
  sender: string | null;
  pid: number;
  reason: string;
}

export interface AttackScene {
  victim: Proc;
  real: Proc;
  attacker: Proc;
  victimName: string;
  realName: string;
  /** The bus's network: the mesh directory or the AF_IPN node. */
  network: string;
}

/** The member id in a unique name (':1.7' -> '7'). */
export const idOf = (unique: string): string => /^:\d+\.(\d+)$/.exec(unique)![1]!;

/** For a test file: `scene()` starts a victim, the real member and `attacker` (told the network's path) on a fresh bus. */
export function attackScenes(label: string, attacker: string): () => Promise<AttackScene> {
  let root = '';
  let procs: Proc[] = [];
  let n = 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), `ipnbus-${label}-`));
  });
  afterEach(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    procs = [];
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return async () => {
    const busDir = join(root, `bus${++n}`);
    const address = `ipnbus:path=${busDir}`;
    const victim = new Proc(MEMBER, address);
    const real = new Proc(MEMBER, address);
    procs.push(victim, real);
    await Promise.all([victim.ready, real.ready]);
    const victimName = await victim.do<string>('join');
    const realName = await real.do<string>('join');
    // The attacker finds the network where every member does: <bus dir>/bus.
    const network = join(busDir, 'bus');
    const a = new Proc(attacker, address, { IPNBUS_NETWORK: network });
    procs.push(a);
    await a.ready;
    return { victim, real, attacker: a, victimName, realName, network };
  };
}

/** Both directions work, each call answered by the real member within `ms`. */
export async function stillMeet(s: AttackScene, ms = 5000): Promise<void> {
  await s.victim.do('echo', s.realName, ms);
  await s.real.do('echo', s.victimName, ms);
}

/**
 * Waits until the victim's 'rejected' events name every reason in
 * `reasons`, each from the attacker's process; returns them all.
 */
export async function reported(s: AttackScene, reasons: string[], ms = 5000): Promise<Rejection[]> {
  let seen: Rejection[] = [];
  await until(async () => {
    seen = await s.victim.do<Rejection[]>('rejections');
    return reasons.every((r) => seen.some((x) => x.reason.includes(r)));
  }, ms, `the victim to report ${reasons.join(', ')}`).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(seen)}`);
  });
  for (const r of seen) expect(r.pid).toBe(s.attacker.child.pid);
  return seen;
}
