// A hostile same-uid process against the user backend's mesh (issue 11,
// item 5): it connects to a member's socket itself and sends a hello that
// claims another live member's id, an empty datagram, and control messages
// cut short. The victim must believe none of it, keep reaching the real
// member both ways, and drop nobody but (for the forged hello) the liar.
// Each refusal reaches the victim's application as a 'rejected' event.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from './proc.js';
import { attackScenes, idOf, reported, stillMeet } from './helpers/attack.js';

const scene = attackScenes('hostile', join(import.meta.dirname, 'hostile-peer-attacker.mjs'));

describe('a hostile same-uid peer (user backend)', () => {
  it('a hello claiming the id of a live member is refused, and the victim still reaches the real member', async () => {
    const s = await scene();
    const { attacker, victimName, realName } = s;
    await stillMeet(s, 3000);
    const fd = await attacker.do<number>('connect', idOf(victimName));
    await attacker.do('hello', fd, idOf(realName));
    // The liar is cut off ...
    await until(() => attacker.do<boolean>('hungUp', fd), 5000, 'the victim to hang up on the forged hello');
    await reported(s, [`hello claims member ${idOf(realName)}`]);
    // ... and the victim's calls to that id still reach the real member
    // (the attacker never answers: a call routed to it would time out).
    await stillMeet(s, 3000);
  });

  it('an empty datagram is rejected, not taken for a hang-up; nobody is dropped', async () => {
    const s = await scene();
    const { attacker, victimName } = s;
    const fd = await attacker.do<number>('connect', idOf(victimName));
    await attacker.do('empty', fd);
    await stillMeet(s, 3000);
    await reported(s, ['empty datagram']);
    // Still connected: the empty datagram was dropped, not read as the end.
    expect(await attacker.do<boolean>('hungUp', fd)).toBe(false);
  });

  it('control messages cut short are rejected; the victim keeps its peers and their filters', async () => {
    const s = await scene();
    const { attacker, victimName } = s;
    const fd = await attacker.do<number>('connect', idOf(victimName));
    await attacker.do('truncatedHello', fd);
    await attacker.do('truncatedFilter', fd);
    await attacker.do('empty', fd);
    await stillMeet(s, 3000);
    await reported(s, ['short hello', 'message before hello', 'empty datagram']);
    expect(await attacker.do<boolean>('hungUp', fd)).toBe(false);
  });
});
