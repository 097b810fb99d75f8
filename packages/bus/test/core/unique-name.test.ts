// Endpoint ids: exact round trips, and low 64 bits that differ between the clients of one host.
import { describe, expect, it } from 'vitest';
import { MAX_SUB_ID, endpointId, endpointOf, memberOf, subOf, uniqueNameOf } from '../../src/core/unique-name.js';

const LOW = (1n << 64n) - 1n;

describe('endpoint ids', () => {
  it('give back the member id and sub-id they were made of, and the unique name', () => {
    const members = [1n, 2n, 77n, 0xfffffffen, LOW];
    const subs = [0, 1, 2, 3, 1000, 65_537, MAX_SUB_ID];
    for (const m of members) {
      for (const s of subs) {
        const id = endpointId(m, s);
        expect(memberOf(id)).toBe(m);
        expect(subOf(id)).toBe(s);
        const name = uniqueNameOf(id, 3);
        expect(name).toBe(s === 0 ? `:3.${m}` : `:3.${m}.${s}`);
        expect(endpointOf(name, 3)).toBe(id);
      }
    }
    expect(endpointId(5n, 0)).toBe(5n);
  });

  // V8 hashes a BigInt by its lowest 64-bit digit: ids that share it share
  // a bucket in every Set and Map, and a lookup walks them all.
  it('put the clients of one host, and the same client of different hosts, in different low digits', () => {
    const low = new Set<bigint>();
    for (let s = 1; s <= 100_000; s++) low.add(endpointId(7n, s) & LOW);
    expect(low.size).toBe(100_000);
    const across = new Set<bigint>();
    for (let m = 1n; m <= 1000n; m++) across.add(endpointId(m, 1) & LOW);
    expect(across.size).toBe(1000);
  });

  it('is not confused between a member and a hosted client whose low digits match', () => {
    const hosted = endpointId(9n, 4);
    const member = hosted & LOW;
    expect(hosted).not.toBe(member);
    expect(subOf(member)).toBe(0);
    expect(memberOf(member)).toBe(member);
    expect(memberOf(hosted)).toBe(9n);
  });
});
