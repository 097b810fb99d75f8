// The setup every file of the Network conformance suite shares: a
// temporary directory of buses, member processes (test/fixtures/member.mjs)
// and in-process networks, all gone after each test. The suite runs the
// backend named by IPNBUS_TEST_BACKEND (user by default; kernel inside the
// VM), with real member processes talking over the real transport; every
// backend must pass it unchanged.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { BACKEND, Member } from './member.js';
import { open, type Network } from '../src/index.js';
import { until } from '../../../test/until.mjs';

export interface Conformance {
  /** The directory the file's buses live in. */
  root(): string;
  /** A fresh bus path. */
  busPath(): string;
  /** `count` member processes (as another uid/gid when given). */
  spawn(count: number, opts?: { uid?: number; gid?: number }): Member[];
  /** Opens a network in this process (for API-level checks). */
  local(path: string, opts?: Parameters<typeof open>[1]): Promise<Network>;
}

/** For a test file: registers the hooks and returns the helpers that use them. */
export function conformanceSetup(): Conformance {
  let root = '';
  let members: Member[] = [];
  let nets: Network[] = [];
  let n = 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ipnbus-conf-'));
    // Other uids must reach the bus paths for the access tests to mean
    // anything: the bus's own mode is then what decides.
    chmodSync(root, 0o755);
  });
  afterEach(async () => {
    await Promise.all(members.map((m) => m.kill('SIGKILL')));
    members = [];
    for (const net of nets) net.close();
    nets = [];
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  return {
    root: () => root,
    busPath: () => join(root, `bus${++n}`),
    spawn(count, opts = {}) {
      const out = Array.from({ length: count }, () => new Member(opts));
      members.push(...out);
      return out;
    },
    async local(path, opts = {}) {
      const net = await open(path, { backend: BACKEND, ...opts });
      nets.push(net);
      return net;
    },
  };
}

export { until };

/** Resolves once `m` lists every one of `others` among its members. */
export async function knows(m: Member, others: Member[]): Promise<void> {
  await until(async () => {
    const listed = ((await m.must('members')).members as { id: string }[]).map((x) => x.id);
    return others.every((o) => listed.includes(String(o.id)));
  }, 15_000, 'the members to know each other');
}
