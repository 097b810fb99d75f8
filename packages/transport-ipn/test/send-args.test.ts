// What every send checks before anything leaves, the same on both backends
// (src/fragment.ts): a bad destination or fd list is refused with an error
// that names the limit, and nothing is sent. Runs on the backend named by
// IPNBUS_TEST_BACKEND (user on the host, kernel in the VM).
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKEND } from './member.js';
import { collect, pairsPerTest, text } from './pair.js';

const pair = pairsPerTest('send-args');

describe(`send arguments (${BACKEND} backend)`, () => {
  it('254 fds are refused as ETOOMANYREFS naming SCM_MAX_FD; 253 travel', async () => {
    const [a, b] = await pair();
    const fd = openSync('/dev/null', 'r');
    try {
      expect(() => a.send(b.id, Buffer.from('too many'), Array<number>(254).fill(fd)))
        .toThrow(expect.objectContaining({ code: 'ETOOMANYREFS', message: expect.stringMatching(/at most 253 \(SCM_MAX_FD\)/) }));
      const got = collect(b, 1);
      a.send(b.id, Buffer.from('just enough'), Array<number>(253).fill(fd));
      const [m] = await got;
      expect(text(m!)).toBe('just enough');
      expect(m!.fds.length).toBe(253);
      for (const f of m!.fds) closeSync(f);
    } finally {
      closeSync(fd);
    }
  });

  it('a destination that is not a bigint and fds that are not descriptors are refused', async () => {
    const [a, b] = await pair();
    expect(() => a.send(Number(b.id) as unknown as bigint, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => a.send(b.id, Buffer.from('x'), [-1])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});
