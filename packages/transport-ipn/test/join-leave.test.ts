// Joins and leaves in one interleaving that the user backend once got wrong:
// a member's connection closes and a new member connects before the stable
// member reads either. The stale hang-up must not be blamed on the newcomer
// (the accepted connection reuses the closed one's fd number).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { open, type IncomingMessage, type Network } from '../src/index.js';
import { BACKEND } from './member.js';
import { until } from '../../../test/until.mjs';

let root = '';
let nets: Network[] = [];
let n = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ipnbus-join-leave-'));
});
afterEach(() => {
  for (const net of nets) net.close();
  nets = [];
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function member(path: string): Promise<Network> {
  const net = await open(path, { backend: BACKEND });
  nets.push(net);
  return net;
}

const knows = (net: Network, id: bigint): boolean => net.members().some((m) => m.id === id);

function nextMessage(net: Network, ms: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message arrived')), ms);
    net.once('message', (m) => {
      clearTimeout(t);
      resolve(m);
    });
  });
}

describe(`joins and leaves together (${BACKEND} backend)`, () => {
  it('a member leaving while another joins, both unread, leaves the newcomer connected', async () => {
    for (let round = 0; round < 20; round++) {
      const path = join(root, `bus${++n}`);
      const stable = await member(path);
      const leaver = await member(path);
      await until(() => knows(stable, leaver.id), 5000, 'the stable member to see the leaver');
      // No event-loop turn between the two: the stable member finds the
      // hang-up and the new connection in the same read.
      leaver.close();
      const joining = member(path);
      const joiner = await joining;
      await until(() => knows(stable, joiner.id) && knows(joiner, stable.id) && !knows(stable, leaver.id), 5000,
        'both to know each other and the leaver gone');
      // Both still reach each other afterwards, both ways.
      const atJoiner = nextMessage(joiner, 5000);
      stable.send(joiner.id, Buffer.from(`to joiner ${round}`));
      expect((await atJoiner).bytes.toString()).toBe(`to joiner ${round}`);
      const atStable = nextMessage(stable, 5000);
      joiner.send(stable.id, Buffer.from(`to stable ${round}`));
      expect((await atStable).bytes.toString()).toBe(`to stable ${round}`);
      expect(knows(stable, joiner.id)).toBe(true);
      expect(knows(joiner, stable.id)).toBe(true);
      for (const net of nets) net.close();
      nets = [];
    }
  });
});
