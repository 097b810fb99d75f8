// The trust rule for credentials a gateway member reports on behalf of its stock client (core/proxied-credentials.ts).
import { chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProxiedCredentials, readProxiedCredentials } from '../../src/core/proxied-credentials.js';

let dir: string;
const root = (process.getuid?.() ?? -1) === 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipnbus-live-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function live(id: number, text: string, owner?: number): void {
  const p = join(dir, String(id));
  writeFileSync(p, text);
  if (owner !== undefined) chownSync(p, owner, owner);
}

describe('proxied credentials', () => {
  it('are read back as written by a member of the same uid', () => {
    const me = process.getuid?.() ?? 0;
    live(1, formatProxiedCredentials({ pid: 4242, uid: me, gid: 7 }));
    expect(readProxiedCredentials(dir, 1n, me)).toEqual({ pid: 4242, uid: me, gid: 7 });
  });

  it('are ignored when absent, malformed, a symlink, or not owned by the member\'s uid', () => {
    const me = process.getuid?.() ?? 0;
    expect(readProxiedCredentials(dir, 99n, me)).toBeUndefined();
    live(2, '{"pid": "x"}');
    expect(readProxiedCredentials(dir, 2n, me)).toBeUndefined();
    live(3, 'not json');
    expect(readProxiedCredentials(dir, 3n, me)).toBeUndefined();
    live(4, formatProxiedCredentials({ pid: 1, uid: me, gid: 0 }));
    symlinkSync(join(dir, '4'), join(dir, '5'));
    expect(readProxiedCredentials(dir, 5n, me)).toBeUndefined();
    // The file says nothing for a member whose stamped uid is not its owner.
    expect(readProxiedCredentials(dir, 4n, me + 1)).toBeUndefined();
  });

  it('let root report any uid, but a user only its own', () => {
    if (!root) {
      // Only root can hand a file to another uid; the rule itself is covered above.
      expect(() => live(10, '{}', 1000)).toThrow();
      return;
    }
    live(10, formatProxiedCredentials({ pid: 10, uid: 1000, gid: 1000 }));
    expect(readProxiedCredentials(dir, 10n, 0)).toEqual({ pid: 10, uid: 1000, gid: 1000 });
    live(11, formatProxiedCredentials({ pid: 11, uid: 1000, gid: 1000 }), 1000);
    expect(readProxiedCredentials(dir, 11n, 1000)).toEqual({ pid: 11, uid: 1000, gid: 1000 });
    live(12, formatProxiedCredentials({ pid: 12, uid: 0, gid: 0 }), 1000);
    // A uid-1000 member claiming to be root is not believed.
    expect(readProxiedCredentials(dir, 12n, 1000)).toBeUndefined();
  });
});
