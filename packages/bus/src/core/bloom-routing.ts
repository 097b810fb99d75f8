// Bloom routing prefix: a 16-byte bloom per broadcast and one mask per match rule.
import { MessageType, type Message } from '../wire/index.js';
import { BLOOM_BYTES, bloomMatches, maskList, type Filter } from '@ipnbus/transport-ipn';
import type { MatchRule } from './match-rule.js';

/**
 * Each element sets BLOOM_HASHES bits out of 128. With the handful of
 * elements a signal has (interface, member, path and its prefixes, arg0) a
 * bloom stays sparse, so a rule's mask rarely passes a message it does not
 * match; a false positive only costs a wake-up, never a wrong delivery,
 * because match rules are checked again in full on receipt.
 */
const BLOOM_BITS = BLOOM_BYTES * 8;
const BLOOM_HASHES = 3;

/**
 * One salt per key, so equal strings under different keys (an interface
 * named like a member, a path equal to arg0) set different bits.
 */
const SALT = {
  interface: 0x9e3779b1,
  member: 0x85ebca77,
  path: 0xc2b2ae3d,
  pathPrefix: 0x27d4eb2f,
  arg0: 0x165667b1,
} as const;
export type BloomKey = keyof typeof SALT;

function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Sets the element's bits in `bloom`. Two FNV-1a hashes over the UTF-16
 * code units, seeded with the key's salt and its complement, computed in one
 * pass and finished with murmur3's avalanche; bit i = h1 + i*h2 (double
 * hashing).
 */
export function bloomAdd(bloom: Uint8Array, key: BloomKey, value: string): void {
  const salt = SALT[key];
  let a = (0x811c9dc5 ^ salt) >>> 0;
  let b = (0x811c9dc5 ^ ~salt) >>> 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  const h1 = finalize(a);
  const h2 = finalize(b) | 1;
  for (let i = 0; i < BLOOM_HASHES; i++) {
    const bit = ((h1 + Math.imul(i, h2)) >>> 0) & (BLOOM_BITS - 1);
    bloom[bit >> 3]! |= 1 << (bit & 7);
  }
}

/** Every prefix of an object path, '/' and the path itself included. */
export function pathPrefixes(path: string): string[] {
  const out = ['/'];
  if (path === '/') return out;
  let i = path.indexOf('/', 1);
  while (i > 0) {
    out.push(path.slice(0, i));
    i = path.indexOf('/', i + 1);
  }
  out.push(path);
  return out;
}

/**
 * Signals repeat: the same interface, member and path again and again. Their
 * part of the bloom is cached (bounded: a sender of endless distinct paths
 * only loses the cache, never memory), and so is the arg0 part.
 */
const CACHE_LIMIT = 4096;
const baseCache = new Map<string, Uint8Array>();
const arg0Cache = new Map<string, Uint8Array>();

function cached(cache: Map<string, Uint8Array>, key: string, make: (b: Uint8Array) => void): Uint8Array {
  let b = cache.get(key);
  if (b === undefined) {
    b = new Uint8Array(BLOOM_BYTES);
    make(b);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, b);
  }
  return b;
}

/** A signal's keys and the bloom made of them. */
interface Recent {
  iface: string | undefined;
  member: string | undefined;
  path: string | undefined;
  arg0: string | undefined;
  bloom: Uint8Array;
}

/**
 * The blooms of the last few distinct signals sent, looked up before the
 * caches above: a sender emits the same few signals over and over, often
 * with the very same string objects, and the caches' per-message key (a
 * string built and hashed) and fresh copy cost ~0.2 us, about a tenth of a
 * small broadcast's whole send. A miss costs a few string compares.
 */
const RECENT_SLOTS = 8;
const recent: Recent[] = [];
let recentNext = 0;

/**
 * The bloom a broadcast signal carries. Shared by every signal with the same
 * keys: read it, never modify it (the transport only reads and compares it).
 */
export function messageBloom(msg: Pick<Message, 'interface' | 'member' | 'path' | 'signature' | 'body'>): Uint8Array {
  const { interface: iface, member, path } = msg;
  const first = msg.body[0];
  const arg0 = msg.signature.charCodeAt(0) === 0x73 /* 's' */ && typeof first === 'string' ? first : undefined;
  for (let i = 0; i < recent.length; i++) {
    const r = recent[i]!;
    if (r.path === path && r.member === member && r.iface === iface && r.arg0 === arg0) return r.bloom;
  }
  const base = cached(baseCache, `${iface ?? ''}\0${member ?? ''}\0${path ?? ''}`, (b) => {
    if (iface !== undefined) bloomAdd(b, 'interface', iface);
    if (member !== undefined) bloomAdd(b, 'member', member);
    if (path !== undefined) {
      bloomAdd(b, 'path', path);
      for (const p of pathPrefixes(path)) bloomAdd(b, 'pathPrefix', p);
    }
  });
  const bloom = base.slice();
  if (arg0 !== undefined) {
    const a = cached(arg0Cache, arg0, (b) => bloomAdd(b, 'arg0', arg0));
    for (let i = 0; i < BLOOM_BYTES; i++) bloom[i]! |= a[i]!;
  }
  recent[recentNext] = { iface, member, path, arg0, bloom };
  recentNext = (recentNext + 1) % RECENT_SLOTS;
  return bloom;
}

/**
 * The mask of one rule: the bits of each key it fixes. Returns null when
 * the rule fixes no bloomable key (it may match any broadcast), and
 * 'never' when it can match no broadcast at all (wrong type, or a
 * destination: broadcasts have none).
 */
export function ruleMask(rule: MatchRule): Uint8Array | null | 'never' {
  if (rule.type !== undefined && rule.type !== MessageType.SIGNAL) return 'never';
  if (rule.destination !== undefined) return 'never';
  const mask = new Uint8Array(BLOOM_BYTES);
  let fixed = false;
  if (rule.interface !== undefined) { bloomAdd(mask, 'interface', rule.interface); fixed = true; }
  if (rule.member !== undefined) { bloomAdd(mask, 'member', rule.member); fixed = true; }
  if (rule.path !== undefined) { bloomAdd(mask, 'path', rule.path); fixed = true; }
  if (rule.pathNamespace !== undefined && rule.pathNamespace !== '/') {
    bloomAdd(mask, 'pathPrefix', rule.pathNamespace);
    fixed = true;
  }
  const arg0 = rule.args.get(0);
  if (arg0 !== undefined) { bloomAdd(mask, 'arg0', arg0); fixed = true; }
  return fixed ? mask : null;
}

/**
 * The filter for a set of rules: null (take everything) when any rule has
 * no bloomable key; otherwise one mask per rule that can match a broadcast
 * (an empty list: no broadcast wakes this member).
 */
export function filterForRules(rules: Iterable<MatchRule>): Uint8Array[] | null {
  const masks: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    const m = ruleMask(rule);
    if (m === 'never') continue;
    if (m === null) return null;
    const k = Buffer.from(m).toString('hex');
    if (!seen.has(k)) {
      seen.add(k);
      masks.push(m);
    }
  }
  return masks;
}

/** The test a backend applies: does some mask fit inside the bloom? (null: no filter, everything passes) */
export function bloomPasses(bloom: Uint8Array, filter: Filter): boolean {
  return bloomMatches(bloom, maskList(filter));
}
