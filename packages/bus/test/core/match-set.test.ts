// A connection's rule set: counted removal, monitor mode, and the transport filter it implies.
import { describe, expect, it } from 'vitest';
import { MaskSet } from '@ipnbus/transport-ipn';
import { MatchSet, ONLY_BLOOMLESS } from '../../src/core/match-set.js';
import { bloomPasses, messageBloom } from '../../src/core/bloom-routing.js';
import { MessageType, type Message } from '../../src/wire/index.js';

const sig = (member: string): Message => ({
  type: MessageType.SIGNAL, flags: 0, serial: 1, path: '/p', interface: 'org.example.I', member, signature: '', body: [],
});
const none = (): undefined => undefined;

describe('MatchSet', () => {
  it('without rules wants nothing and lets only bloomless messages through the filter', () => {
    const m = new MatchSet();
    expect(m.wants(sig('A'), none)).toBe(false);
    expect(m.filter()).toEqual([ONLY_BLOOMLESS]);
    expect(bloomPasses(messageBloom(sig('A')), m.filter())).toBe(false);
    expect(bloomPasses(new Uint8Array(16).fill(0xff), m.filter())).toBe(true);
  });

  it('counts adds: a rule added twice is removed twice, then MatchRuleNotFound', () => {
    const m = new MatchSet();
    m.add("member='A'");
    m.add("type='signal',member='A'".replace("type='signal',", '')); // the same rule
    m.remove("member='A'");
    expect(m.wants(sig('A'), none)).toBe(true);
    m.remove("member='A'");
    expect(m.wants(sig('A'), none)).toBe(false);
    expect(() => m.remove("member='A'")).toThrow(expect.objectContaining({ name: 'org.freedesktop.DBus.Error.MatchRuleNotFound' }));
  });

  it('filters by rule, null for a rule with no bloomable key, null in monitor mode', () => {
    const m = new MatchSet();
    m.add("member='A'");
    expect(bloomPasses(messageBloom(sig('A')), m.filter())).toBe(true);
    expect(bloomPasses(messageBloom(sig('B')), m.filter())).toBe(false);
    m.add("sender=':1.9'");
    expect(m.filter()).toBeNull();
    const mon = new MatchSet();
    mon.monitor([]);
    expect(mon.filter()).toBeNull();
    expect(mon.wants(sig('Z'), none)).toBe(true);
    mon.monitor(["member='Y'"]);
    expect(mon.wants(sig('Z'), none)).toBe(false);
  });

  it('adding a rule is O(1): its mask is counted once and the filter is the same set, never a list rebuilt', () => {
    /** Counts what the MatchSet does to its masks: adds, deletes and reads of the whole list. */
    class Counted extends MaskSet {
      work = 0;
      override add(m: Uint8Array): void {
        this.work++;
        super.add(m);
      }
      override delete(m: Uint8Array): boolean {
        this.work++;
        return super.delete(m);
      }
      override masks(): readonly Uint8Array[] {
        const list = super.masks();
        this.work += list.length;
        return list;
      }
    }
    for (const n of [1000, 4000]) {
      const masks = new Counted();
      const m = new MatchSet(masks);
      for (let i = 0; i < n; i++) {
        m.add(`type='signal',member='M${i}'`);
        expect(m.filter()).toBe(masks);
      }
      expect(masks.work).toBe(n);
      expect(bloomPasses(messageBloom(sig(`M${n - 1}`)), m.filter())).toBe(true);
      for (let i = 0; i < n; i++) m.remove(`type='signal',member='M${i}'`);
      expect(masks.size).toBe(0);
      expect(m.filter()).toEqual([ONLY_BLOOMLESS]);
    }
  });
});
