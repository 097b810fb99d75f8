// Bloom routing: a rule's mask passes the blooms of the messages it matches, and few others.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bloomPasses, filterForRules, messageBloom, pathPrefixes, ruleMask } from '../../src/core/bloom-routing.js';
import { matchesRule, parseMatchRule } from '../../src/core/match-rule.js';
import { MessageType, type Message } from '../../src/wire/index.js';

function signal(path: string, iface: string, member: string, arg0?: string): Message {
  return {
    type: MessageType.SIGNAL,
    flags: 0,
    serial: 1,
    path,
    interface: iface,
    member,
    signature: arg0 === undefined ? '' : 's',
    body: arg0 === undefined ? [] : [arg0],
  };
}

describe('bloom', () => {
  it('lists every path prefix', () => {
    expect(pathPrefixes('/')).toEqual(['/']);
    expect(pathPrefixes('/a/b/c')).toEqual(['/', '/a', '/a/b', '/a/b/c']);
  });

  it('maps rules to masks, null for rules with no bloomable key, skips non-signal rules', () => {
    expect(ruleMask(parseMatchRule("sender=':1.4'"))).toBeNull();
    expect(ruleMask(parseMatchRule("path_namespace='/'"))).toBeNull();
    expect(ruleMask(parseMatchRule("type='method_call'"))).toBe('never');
    expect(ruleMask(parseMatchRule("destination=':1.2',member='X'"))).toBe('never');
    expect(filterForRules([])).toEqual([]);
    expect(filterForRules([parseMatchRule("member='A'"), parseMatchRule('')])).toBeNull();
    expect(filterForRules([parseMatchRule("member='A'"), parseMatchRule("type='signal',member='A'")])).toHaveLength(1);
  });

  const seg = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,6}$/);
  const pathArb = fc.array(seg, { minLength: 0, maxLength: 4 }).map((s) => '/' + s.join('/'));
  const ifaceArb = fc.tuple(seg, seg).map(([a, b]) => `${a}.${b}`);

  it('never filters out a message its rule matches (property)', () => {
    fc.assert(
      fc.property(pathArb, ifaceArb, seg, fc.option(seg, { nil: undefined }), fc.nat(4), (path, iface, member, arg0, pick) => {
        const msg = signal(path, iface, member, arg0);
        const keys = [`interface='${iface}'`, `member='${member}'`, `path='${path}'`];
        const prefixes = pathPrefixes(path);
        keys.push(`path_namespace='${prefixes[pick % prefixes.length]}'`);
        if (arg0 !== undefined) keys.push(`arg0='${arg0}'`);
        const rule = parseMatchRule(keys.filter((_, i) => (pick >> i) & 1 || i === 0).filter((k) => !(k.startsWith('path=') && keys.some((x, j) => x.startsWith('path_namespace') && (pick >> j) & 1))).join(','));
        expect(matchesRule(rule, msg, () => undefined)).toBe(true);
        expect(bloomPasses(messageBloom(msg), filterForRules([rule]))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps most unrelated messages out (false positives are rare)', () => {
    const rule = parseMatchRule("interface='org.example.Wanted',member='Tick'");
    const masks = filterForRules([rule])!;
    let passed = 0;
    for (let i = 0; i < 2000; i++) {
      const msg = signal(`/obj/n${i}`, `org.example.I${i}`, `M${i}`, `a${i}`);
      if (bloomPasses(messageBloom(msg), masks)) passed++;
    }
    expect(passed).toBeLessThan(40);
    expect(bloomPasses(messageBloom(signal('/x', 'org.example.Wanted', 'Tick')), masks)).toBe(true);
  });

  it('gives a repeated signal the bloom of its own keys, its arg0 included, however many signals came between', () => {
    const arg0Mask = filterForRules([parseMatchRule("arg0='topic.a'")])!;
    const alike = (arg0?: string) => signal('/same', 'org.example.Same', 'Tick', arg0);
    for (let round = 0; round < 3; round++) {
      // More distinct signals than the recent-bloom slots, in turn: each lookup must find its own.
      for (let i = 0; i < 12; i++) expect(bloomPasses(messageBloom(signal(`/obj/n${i}`, 'org.example.I', 'M')), filterForRules([parseMatchRule(`path='/obj/n${i}'`)])!)).toBe(true);
      expect(bloomPasses(messageBloom(alike('topic.a')), arg0Mask)).toBe(true);
      expect(bloomPasses(messageBloom(alike('topic.b')), arg0Mask)).toBe(false);
      expect(bloomPasses(messageBloom(alike()), arg0Mask)).toBe(false);
      // The same keys in new string objects: the same bits.
      expect(messageBloom(alike(['topic', 'a'].join('.')))).toEqual(messageBloom(alike('topic.a')));
    }
  });

  it('separates keys: an interface value does not pass a member mask of the same text', () => {
    const masks = filterForRules([parseMatchRule("member='Same'")])!;
    expect(bloomPasses(messageBloom(signal('/', 'a.Same', 'Other', 'Same')), masks)).toBe(false);
  });
});
