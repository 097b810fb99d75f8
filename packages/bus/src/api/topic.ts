// Pub/sub topics as D-Bus object paths: the mapping both ways, and topic
// patterns as match-rule filters (so uninterested members are never woken).
//
// Mapping: a topic is split into segments at '.' and '/' (the two are
// equivalent separators); segments must be non-empty. In each segment,
// ASCII letters and digits stay as they are and every other UTF-8 byte
// (including '_') becomes '_' plus two lowercase hex digits. The path is
// PUBSUB_ROOT + '/' + segments joined by '/':
//   'sensors.kitchen/temp' -> /org/ipnbus/pubsub/sensors/kitchen/temp
//   'a-b.c_d'              -> /org/ipnbus/pubsub/a_2db/c_5fd
// Patterns: an exact topic; 'prefix.*' (or 'prefix/*') for the prefix and
// every topic below it (path_namespace); '*' for every topic.

export const PUBSUB_ROOT = '/org/ipnbus/pubsub';
export const PUBSUB_INTERFACE = 'org.ipnbus.PubSub1';
export const PUBSUB_MEMBER = 'Message';
export const PUBSUB_SIGNATURE = 'say';

/** The topic (or pattern) string is not usable. */
export class TopicError extends TypeError {
  override name = 'TopicError';
}

function encodeSegment(seg: string): string {
  let out = '';
  for (const byte of Buffer.from(seg, 'utf8')) {
    const alnum = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
    out += alnum ? String.fromCharCode(byte) : '_' + byte.toString(16).padStart(2, '0');
  }
  return out;
}

function segments(topic: string, what: string): string[] {
  if (typeof topic !== 'string' || topic.length === 0) throw new TopicError(`${what} must be a non-empty string`);
  const segs = topic.split(/[./]/);
  if (segs.some((s) => s.length === 0)) throw new TopicError(`${what} '${topic}' has an empty segment (leading, trailing or doubled separator)`);
  return segs;
}

// publish() maps its topic on every call, and applications publish on a
// handful of topics: the mapping (a split, a UTF-8 encode per segment, string
// building: ~10% of a small publish's CPU in the pub/sub bench) is kept per
// topic. Bounded: an application inventing a topic per message only makes
// the cache start over.
const PATH_CACHE_MAX = 1024;
const pathCache = new Map<string, string>();

/** The object path a topic's messages are emitted on. */
export function topicToPath(topic: string): string {
  const known = pathCache.get(topic);
  if (known !== undefined) return known;
  const path = PUBSUB_ROOT + '/' + segments(topic, 'topic').map(encodeSegment).join('/');
  if (pathCache.size >= PATH_CACHE_MAX) pathCache.clear();
  pathCache.set(topic, path);
  return path;
}

/** The topic (with '.' separators) of a pub/sub path, or undefined if it is not one. */
export function pathToTopic(path: string): string | undefined {
  if (!path.startsWith(PUBSUB_ROOT + '/')) return undefined;
  const segs = path.slice(PUBSUB_ROOT.length + 1).split('/');
  const decoded: string[] = [];
  for (const s of segs) {
    const bytes: number[] = [];
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '_') {
        const h = s.slice(i + 1, i + 3);
        if (!/^[0-9a-f]{2}$/.test(h)) return undefined;
        bytes.push(parseInt(h, 16));
        i += 2;
      } else {
        bytes.push(s.charCodeAt(i));
      }
    }
    decoded.push(Buffer.from(bytes).toString('utf8'));
  }
  return decoded.join('.');
}

/** How a subscription pattern filters: one exact path, or a namespace. */
export type TopicFilter = { path: string } | { pathNamespace: string };

export function topicPatternToFilter(pattern: string): TopicFilter {
  if (pattern === '*') return { pathNamespace: PUBSUB_ROOT };
  if (pattern.endsWith('.*') || pattern.endsWith('/*')) {
    const prefix = pattern.slice(0, -2);
    if (prefix.includes('*')) throw new TopicError(`pattern '${pattern}': '*' is only allowed as the last segment`);
    return { pathNamespace: topicToPath(prefix) };
  }
  if (pattern.includes('*')) throw new TopicError(`pattern '${pattern}': '*' is only allowed as the whole last segment`);
  return { path: topicToPath(pattern) };
}
