// The match rules one connection holds: counted adds and removes, matching, and the bloom filter they imply.
import { BLOOM_BYTES, MaskSet, type Filter } from '@ipnbus/transport-ipn';
import type { Message } from '../wire/index.js';
import { ruleMask } from './bloom-routing.js';
import { DBusError, ErrorNames } from './errors.js';
import { matchesRule, parseMatchRule, type MatchRule } from './match-rule.js';

/**
 * The filter mask that only bloomless broadcasts (name records) pass: an
 * empty mask list would shut them out too, and a real bloom never has all
 * 128 bits set.
 */
export const ONLY_BLOOMLESS = new Uint8Array(BLOOM_BYTES).fill(0xff);
const ONLY_BLOOMLESS_FILTER: Filter = [ONLY_BLOOMLESS];

/** A rule's part of the filter: a mask, 'any' (it may match any broadcast) or 'never'. */
type RuleMask = Uint8Array | 'any' | 'never';

function maskOf(rule: MatchRule): RuleMask {
  const m = ruleMask(rule);
  return m === null ? 'any' : m;
}

/**
 * Keeps the filter as the rules change, one rule at a time: each rule's mask
 * is computed once, when it is added, and counted in a MaskSet (rules often
 * share one), which the transport takes as it is, so adding a rule costs
 * O(1) here and in the transport's setFilter (test/core/match-set.test.ts
 * counts it).
 */
export class MatchSet {
  readonly #rules = new Map<string, { rule: MatchRule; count: number; mask: RuleMask }>();
  #monitor: MatchRule[] | undefined;
  readonly #masks: MaskSet;
  /** Rules with no bloomable key: while there is one, the filter is null. */
  #anyRules = 0;
  /** Rules added and not removed, each add counted. */
  #size = 0;

  /** `masks`: where the rules' masks are counted (a test passes one that counts its work). */
  constructor(masks: MaskSet = new MaskSet()) {
    this.#masks = masks;
  }

  /** Rules in force, each add counted (limits.maxMatchRules, Debug.Stats). */
  get size(): number {
    return this.#size;
  }

  /** Adds a rule (counted: added twice, removed twice). Throws MatchRuleInvalid. */
  add(text: string): void {
    const parsed = parseMatchRule(text);
    this.#size++;
    const entry = this.#rules.get(parsed.key);
    if (entry !== undefined) {
      entry.count++;
      return;
    }
    const mask = maskOf(parsed);
    this.#rules.set(parsed.key, { rule: parsed, count: 1, mask });
    this.#count(mask, 1);
  }

  #count(m: RuleMask, delta: 1 | -1): void {
    if (m === 'never') return;
    if (m === 'any') this.#anyRules += delta;
    else if (delta === 1) this.#masks.add(m);
    else this.#masks.delete(m);
  }

  /** Throws MatchRuleInvalid, or MatchRuleNotFound for a rule never added. */
  remove(text: string): void {
    const parsed = parseMatchRule(text);
    const entry = this.#rules.get(parsed.key);
    if (entry === undefined) {
      throw new DBusError(ErrorNames.MatchRuleNotFound, `The given match rule wasn't found and can't be removed`);
    }
    this.#size--;
    if (--entry.count === 0) {
      this.#rules.delete(parsed.key);
      this.#count(entry.mask, -1);
    }
  }

  /** Monitor mode: every broadcast matching `rules` (all of them when empty). */
  monitor(rules: string[]): void {
    this.#monitor = rules.map((r) => parseMatchRule(r));
  }

  /** Does a broadcast (or bus-made) message match? `ownerOf` resolves well-known senders. */
  wants(msg: Message, ownerOf: (name: string) => string | undefined): boolean {
    if (this.#monitor !== undefined) {
      return this.#monitor.length === 0 || this.#monitor.some((r) => matchesRule(r, msg, ownerOf));
    }
    for (const { rule } of this.#rules.values()) if (matchesRule(rule, msg, ownerOf)) return true;
    return false;
  }

  /** The transport filter: null wakes us for every broadcast; the MaskSet itself, not a copy (O(1)). */
  filter(): Filter {
    if (this.#monitor !== undefined || this.#anyRules > 0) return null;
    return this.#masks.size === 0 ? ONLY_BLOOMLESS_FILTER : this.#masks;
  }
}
