// A hostile member of the same uid rewrites a name's record and announces it: nobody takes it for the owner.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, freshBus, type TestBus } from '../../packages/bus/test/core/helpers/bus.js';
import { Member } from '../../packages/bus/test/core/helpers/member.js';
import { connect, memberIdOf, type Connection } from '../../packages/bus/src/core/index.js';
import { MessageType } from '../../packages/bus/src/wire/index.js';

const NAME = 'org.example.Owned';
const T = { path: '/org/example/Test', interface: 'org.example.Test' };

let bus: TestBus;
let me: Connection;
let owner: Member;
let witness: Member;
let hostile: Member;
const late: Member[] = [];

/** What the hostile process does: rewrite names/<name>.json with `owners` (a newer version) and announce it. */
async function forge(owners: Array<{ id: string; flags: number }>): Promise<void> {
  const file = join(bus.path, 'names', `${NAME}.json`);
  const record = JSON.parse(readFileSync(file, 'utf8')) as { version: number; owners: unknown };
  const forged = { ...record, version: record.version + 1, owners };
  writeFileSync(`${file}.forged`, JSON.stringify(forged));
  renameSync(`${file}.forged`, file);
  // The announcement every member sends after a change (core/announce.ts), from the hostile member.
  await hostile.do('rawBroadcast', {
    type: MessageType.SIGNAL,
    path: '/org/ipnbus/Core',
    interface: 'org.ipnbus.Core',
    member: 'NameRecord',
    signature: 'sta(tu)',
    body: [NAME, BigInt(forged.version), owners.map((o) => [BigInt(o.id), o.flags])],
  });
  // Per-pair order: once the hostile member answered our sync, its announcement was taken.
  await me.settle();
  await witness.do('settle');
  await owner.do('settle');
}

async function views(): Promise<Record<string, unknown>> {
  const newcomer = await Member.start(bus.address);
  late.push(newcomer);
  const { reply } = await me.call({ destination: NAME, ...T, member: 'Echo', signature: 's', body: ['who'] });
  return {
    me: me.getNameOwner(NAME) ?? null,
    witness: await witness.do('getNameOwner', NAME),
    owner: await owner.do('getNameOwner', NAME),
    newcomer: await newcomer.do('getNameOwner', NAME),
    'a call to the name reaches': reply.sender,
  };
}

beforeAll(async () => {
  bus = freshBus('name-record');
  me = await connect({ address: bus.address, backend: BACKEND });
  [owner, witness, hostile] = await Member.startMany(bus.address, 3);
  await owner.do('serve');
  await hostile.do('serve');
  expect(await owner.do('requestName', NAME, 0)).toBe(1);
  await me.settle();
});

afterAll(async () => {
  me?.disconnect();
  for (const m of [owner, witness, hostile, ...late]) await m?.stop();
  bus?.cleanup();
});

describe('a forged name record', () => {
  it('claiming the hostile member owns the name: every view, a newcomer and calls stay with the real owner', async () => {
    const hostileId = memberIdOf(hostile.uniqueName)!.toString();
    await forge([{ id: hostileId, flags: 0 }]);
    const seen = await views();
    console.log(`forged record naming ${hostile.uniqueName} owner of ${NAME} (real owner ${owner.uniqueName}): ${JSON.stringify(seen)}`);
    for (const v of Object.values(seen)) expect(v).toBe(owner.uniqueName);
  });

  it('claiming the name has no owner: every view keeps the real owner', async () => {
    await forge([]);
    const seen = await views();
    console.log(`forged record saying ${NAME} has no owner: ${JSON.stringify(seen)}`);
    for (const v of Object.values(seen)) expect(v).toBe(owner.uniqueName);
  });

  it('real changes still go through: a release to a queued member, then a replacement', async () => {
    const name = 'org.example.Passed';
    const agreed = async (who: Member): Promise<boolean> =>
      me.getNameOwner(name) === who.uniqueName &&
      (await witness.do('getNameOwner', name)) === who.uniqueName &&
      (await owner.do('getNameOwner', name)) === who.uniqueName &&
      (await hostile.do('getNameOwner', name)) === who.uniqueName;
    const waitAgreed = async (who: Member): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!(await agreed(who)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(await agreed(who)).toBe(true);
    };
    const ALLOW_REPLACEMENT = 1;
    const REPLACE_EXISTING = 2;
    expect(await owner.do('requestName', name, ALLOW_REPLACEMENT)).toBe(1);
    await waitAgreed(owner);
    expect(await witness.do('requestName', name, 0)).toBe(2);
    expect(await owner.do('releaseName', name)).toBe(1);
    await waitAgreed(witness);
    expect(await witness.do('releaseName', name)).toBe(1);
    expect(await owner.do('requestName', name, ALLOW_REPLACEMENT)).toBe(1);
    await waitAgreed(owner);
    expect(await hostile.do('requestName', name, REPLACE_EXISTING)).toBe(1);
    await waitAgreed(hostile);
  });
});
