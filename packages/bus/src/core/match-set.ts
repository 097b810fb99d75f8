// The match rules one connection holds: counted adds and removes, matching, and the bloom filter they imply.
import { BLOOM_BYTES } from '@ipnbus/transport-ipn';
import type { Message } from '../wire/index.js';
import { filterForRules } from './bloom.js';
import { DBusError, ErrorNames } from './errors.js';
import { matchesRule, parseMatchRule, type MatchRule } from './match-rule.js';

/**
 * The filter mask that only bloomless broadcasts (name records) pass: an
 * empty mask list would shut them out too, and a real bloom never has all
 * 128 bits set.
 */
export const ONLY_BLOOMLESS = new Uint8Array(BLOOM_BYTES).fill(0xff);

export class MatchSet {
  readonly #rules = new Map<string, { rule: MatchRule; count: number }>();
  #monitor: MatchRule[] | undefined;

  /** Adds a rule (counted: added twice, removed twice). Throws MatchRuleInvalid. */
  add(text: string): void {
    const parsed = parseMatchRule(text);
    const entry = this.#rules.get(parsed.key);
    if (entry !== undefined) entry.count++;
    else this.#rules.set(parsed.key, { rule: parsed, count: 1 });
  }

  /** Throws MatchRuleInvalid, or MatchRuleNotFound for a rule never added. */
  remove(text: string): void {
    const parsed = parseMatchRule(text);
    const entry = this.#rules.get(parsed.key);
    if (entry === undefined) {
      throw new DBusError(ErrorNames.MatchRuleNotFound, `The given match rule wasn't found and can't be removed`);
    }
    if (--entry.count === 0) this.#rules.delete(parsed.key);
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

  /** The transport filter: null wakes us for every broadcast. */
  filter(): Uint8Array[] | null {
    if (this.#monitor !== undefined) return null;
    const masks = filterForRules([...this.#rules.values()].map((e) => e.rule));
    return masks !== null && masks.length === 0 ? [ONLY_BLOOMLESS] : masks;
  }
}
