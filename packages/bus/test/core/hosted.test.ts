// Hosted clients: one member carrying several endpoints ':<g>.<member>.<n>', seen by other members as connections of their own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, freshBus, type TestBus } from './helpers/bus.js';
import { Member, isNOC } from './helpers/member.js';
import { until } from './helpers/until.js';
import { connect, DBusError, memberOf, subOf, endpointOf, type Connection } from '../../src/core/index.js';
import { readHosted, vouched, writeHostedFile } from '../../src/core/hosted.js';
import { lstatSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '../../src/wire/index.js';

let bus: TestBus;
let host: Connection;
let other: Member;

const creds = (pid: number): { pid: number; uid: number; gid: number } => ({ pid, uid: process.getuid!(), gid: process.getgid!() });

beforeAll(async () => {
  bus = freshBus('hosted');
  host = await connect({ address: bus.address, backend: BACKEND });
  other = await Member.start(bus.address);
  await other.do('serve');
  await other.do('addMatch', "sender='org.freedesktop.DBus',member='NameOwnerChanged'");
});

afterAll(async () => {
  await other?.stop();
  host?.disconnect();
  bus?.cleanup();
});

const busCall = (member: string, signature: string, body: unknown[]) =>
  other.do<{ reply: Message }>('call', { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member, signature, body });

describe('a member hosting clients', () => {
  it('gives each its own unique name, which other members see join with the vouched credentials', async () => {
    const a = host.host(creds(4242));
    const aName = a.uniqueName;
    try {
      expect(a.uniqueName).toBe(`${host.uniqueName}.${subOf(a.endpointId)}`);
      expect(subOf(a.endpointId)).toBeGreaterThan(0);
      expect(memberOf(a.endpointId)).toBe(host.memberId);
      expect(endpointOf(a.uniqueName)).toBe(a.endpointId);
      await other.waitFor(isNOC(a.uniqueName));
      expect(other.received.map((r) => r.msg).filter(isNOC(a.uniqueName))[0]!.body).toEqual([a.uniqueName, '', a.uniqueName]);
      expect((await busCall('ListNames', '', [])).reply.body[0]).toContain(a.uniqueName);
      expect((await busCall('NameHasOwner', 's', [a.uniqueName])).reply.body[0]).toBe(true);
      expect((await busCall('GetConnectionUnixProcessID', 's', [a.uniqueName])).reply.body[0]).toBe(4242);
      expect((await busCall('GetConnectionUnixUser', 's', [a.uniqueName])).reply.body[0]).toBe(process.getuid!());
      // A newcomer reads it from the bus directory.
      const late = await connect({ address: bus.address, backend: BACKEND });
      try {
        expect(late.listNames()).toContain(a.uniqueName);
        expect(late.getCredentials(a.uniqueName)?.pid).toBe(4242);
      } finally {
        late.disconnect();
      }
    } finally {
      a.disconnect();
    }
    await until(() => other.received.map((r) => r.msg).filter(isNOC(aName)).length === 2);
    expect((await busCall('NameHasOwner', 's', [aName])).reply.body[0]).toBe(false);
  });

  it('stamps SENDER from the verified member and the sub-id its host vouches for, both ways', async () => {
    const a = host.host(creds(process.pid));
    try {
      const { reply } = await a.call({ destination: other.uniqueName, path: '/t', interface: 'org.example.Test', member: 'WhoAmI' });
      expect(reply.body).toEqual([a.uniqueName]);
      expect(reply.sender).toBe(other.uniqueName);
      a.on('methodCall', ({ msg }: { msg: Message }) => a.reply(msg, 's', [`${msg.sender} -> ${a.uniqueName}`]));
      const back = await other.do<{ reply: Message }>('call', { destination: a.uniqueName, path: '/t', interface: 'org.example.T', member: 'Hi' });
      expect(back.reply.body).toEqual([`${other.uniqueName} -> ${a.uniqueName}`]);
      expect(back.reply.sender).toBe(a.uniqueName);
      // A signal of a hosted client, as another member sees it.
      await other.do('addMatch', "interface='org.example.Hosted'");
      await other.do('settle');
      a.emitSignal('/h', 'org.example.Hosted', 'Ping', 's', ['x']);
      const sig = await other.waitFor((m) => m.interface === 'org.example.Hosted');
      expect(sig.sender).toBe(a.uniqueName);
    } finally {
      a.disconnect();
    }
  });

  it('lets no member speak for another member’s clients or for clients it never announced', async () => {
    const a = host.host(creds(5));
    const got: Message[] = [];
    const onMsg = (m: Message): void => void got.push(m);
    host.on('message', onMsg);
    host.addMatch("interface='org.example.Forged'");
    await host.settle();
    try {
      for (const sender of [a.uniqueName, `${other.uniqueName}.99`, `${other.uniqueName}`]) {
        await other.do('rawBroadcast', { type: 4, path: '/f', interface: 'org.example.Forged', member: 'As', signature: 's', body: [sender], sender });
      }
      await until(() => got.filter((m) => m.interface === 'org.example.Forged').length === 3);
      expect(got.filter((m) => m.interface === 'org.example.Forged').map((m) => m.sender)).toEqual([other.uniqueName, other.uniqueName, other.uniqueName]);
    } finally {
      host.off('message', onMsg);
      host.removeMatch("interface='org.example.Forged'");
      a.disconnect();
    }
  });

  it('keeps calls between two hosted clients inside the member and fans broadcasts out by each client’s rules', async () => {
    const a = host.host(creds(1));
    const b = host.host(creds(2));
    try {
      b.on('methodCall', ({ msg }: { msg: Message }) => b.reply(msg, 's', [msg.sender!]));
      // `other` has a NameOwnerChanged rule: its count moves until it has seen both arrive.
      await other.waitFor(isNOC(a.uniqueName));
      await other.waitFor(isNOC(b.uniqueName));
      const before = (await other.do<{ received: number }>('stats')).received;
      expect(a.network).toBe(host.network); // one transport endpoint for all
      const { reply } = await a.call({ destination: b.uniqueName, path: '/t', interface: 'org.example.T', member: 'Who' });
      expect(reply.body).toEqual([a.uniqueName]);
      expect(reply.sender).toBe(b.uniqueName);
      expect((await other.do<{ received: number }>('stats')).received).toBe(before);

      const gotA: Message[] = [];
      const gotB: Message[] = [];
      a.on('message', (m: Message) => gotA.push(m));
      b.on('message', (m: Message) => gotB.push(m));
      a.addMatch("interface='org.example.Fan',member='One'");
      b.addMatch("interface='org.example.Fan'");
      await a.settle();
      await other.do('emit', '/f', 'org.example.Fan', 'One', '', []);
      await other.do('emit', '/f', 'org.example.Fan', 'Two', '', []);
      await until(() => gotB.filter((m) => m.interface === 'org.example.Fan').length === 2);
      expect(gotA.filter((m) => m.interface === 'org.example.Fan').map((m) => m.member)).toEqual(['One']);
      expect(gotB.filter((m) => m.interface === 'org.example.Fan').map((m) => m.sender)).toEqual([other.uniqueName, other.uniqueName]);
      // A hosted client's own broadcast reaches its sibling locally.
      a.emitSignal('/f', 'org.example.Fan', 'Three', '', []);
      await until(() => gotB.some((m) => m.member === 'Three'));
      expect(gotB.find((m) => m.member === 'Three')!.sender).toBe(a.uniqueName);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('releases a leaving client’s names with NameOwnerChanged and fails calls waiting on it with NoReply', async () => {
    const a = host.host(creds(3));
    a.on('methodCall', () => undefined); // never answers
    expect(await a.requestName('org.example.HostedName', 0)).toBe(1);
    await other.waitFor((m) => isNOC('org.example.HostedName')(m) && m.body[2] === a.uniqueName);
    expect(await other.do('getNameOwner', 'org.example.HostedName')).toBe(a.uniqueName);
    const pending = other.do('call', { destination: 'org.example.HostedName', path: '/t', interface: 'org.example.T', member: 'Hang' }).catch((e: unknown) => e);
    await until(() => a.stats.received > 0);
    a.disconnect();
    const err = (await pending) as Error;
    expect(err.name).toBe('org.freedesktop.DBus.Error.NoReply');
    await other.waitFor((m) => isNOC('org.example.HostedName')(m) && m.body[1] === a.uniqueName && m.body[2] === '');
    await other.waitFor((m) => isNOC(a.uniqueName)(m) && m.body[2] === '');
    const order = other.received.map((r) => r.msg).filter((m) => isNOC('org.example.HostedName')(m) || isNOC(a.uniqueName)(m));
    expect(order.at(-1)!.body[0]).toBe(a.uniqueName);
    // A sub-id that is gone is unknown to the sender: ServiceUnknown, as for any vanished unique name.
    await expect(other.do('call', { destination: a.uniqueName, path: '/t', interface: 'org.example.T', member: 'X' })).rejects.toThrow(/ServiceUnknown/);
  });

  it('drops every hosted client with its host when the host process dies', async () => {
    const hostProc = await Member.start(bus.address);
    const seen: Message[] = [];
    host.addMatch("sender='org.freedesktop.DBus',member='NameOwnerChanged'");
    host.on('message', (m: Message) => seen.push(m));
    const name = await hostProc.do<string>('host', creds(77));
    expect(await hostProc.do('hostedRequestName', name, 'org.example.DiesWithHost')).toBe(1);
    await until(() => host.getNameOwner('org.example.DiesWithHost') === name);
    expect(host.getCredentials(name)?.pid).toBe(77);
    await hostProc.kill('SIGKILL');
    await until(() => host.getNameOwner(name) === undefined && host.getNameOwner('org.example.DiesWithHost') === undefined);
    await until(() => seen.some((m) => isNOC(name)(m) && m.body[2] === ''));
    expect(seen.some((m) => isNOC('org.example.DiesWithHost')(m) && m.body[2] === '')).toBe(true);
    expect(host.listNames()).not.toContain(name);
  });

  it('believes vouched credentials only of the host’s own uid, or any when the host is root', () => {
    expect(vouched(1000, { pid: 5, uid: 1000, gid: 1000 })).toEqual({ pid: 5, uid: 1000, gid: 1000 });
    expect(vouched(1000, { pid: 5, uid: 0, gid: 0 })).toBeUndefined();
    expect(vouched(0, { pid: 5, uid: 1234, gid: 1234 })).toEqual({ pid: 5, uid: 1234, gid: 1234 });
  });

  it('records a client in one symlink() whose target holds the vouched credentials, and believes nothing else there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipnbus-hosted-record-'));
    try {
      const uid = process.getuid!();
      writeHostedFile(dir, 7n, 3, { pid: 4242, uid, gid: 5 });
      expect(lstatSync(join(dir, '7.3')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dir, '7.3'))).toBe(`4242.${uid}.5`);
      expect(readHosted(dir, 7n, 3)).toEqual({ pid: 4242, uid, gid: 5 });
      // Written again (a removal that failed): replaced, not an error.
      writeHostedFile(dir, 7n, 3, { pid: 4343, uid, gid: 5 });
      expect(readHosted(dir, 7n, 3)?.pid).toBe(4343);
      // Not credentials: a target out of form or out of range, a plain file, nothing.
      symlinkSync('../../etc/passwd', join(dir, '7.4'));
      symlinkSync(`1.${2 ** 32}.1`, join(dir, '7.5'));
      writeFileSync(join(dir, '7.6'), JSON.stringify({ pid: 1, uid, gid: 1 }));
      for (const sub of [4, 5, 6, 8]) expect(readHosted(dir, 7n, sub)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to host on a closed connection', async () => {
    const c = await connect({ address: bus.address, backend: BACKEND });
    c.disconnect();
    expect(() => c.host(creds(1))).toThrow(DBusError);
  });
});
