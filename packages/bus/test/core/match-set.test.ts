// A connection's rule set: counted removal, monitor mode, and the transport filter it implies.
import { describe, expect, it } from 'vitest';
import { MatchSet, ONLY_BLOOMLESS } from '../../src/core/match-set.js';
import { bloomPasses, messageBloom } from '../../src/core/bloom.js';
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
});
