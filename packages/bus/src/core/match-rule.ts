// D-Bus match rules: parsing (spec syntax and quoting) and matching a message.
import {
  MessageType,
  isValidBusName,
  isValidInterfaceName,
  isValidMemberName,
  isValidObjectPath,
  parseSignature,
  type Message,
} from '../wire/index.js';
import { DBusError, ErrorNames } from './errors.js';

/** dbus-daemon's limit on the text of one rule. */
export const MAX_MATCH_RULE_LENGTH = 1024;
/** Argument matches go from arg0 to arg63. */
export const MAX_MATCH_ARG = 63;

const TYPE_NAMES: Record<string, MessageType> = {
  method_call: MessageType.METHOD_CALL,
  method_return: MessageType.METHOD_RETURN,
  error: MessageType.ERROR,
  signal: MessageType.SIGNAL,
};

/** A parsed match rule. Absent fields match anything. */
export interface MatchRule {
  /** The text as given (the key for RemoveMatch is the parsed form, `key`). */
  text: string;
  /** Canonical form: equal for rules that mean the same thing. */
  key: string;
  type?: MessageType;
  sender?: string;
  interface?: string;
  member?: string;
  path?: string;
  pathNamespace?: string;
  destination?: string;
  /** argN='value': string argument N equals value. */
  args: Map<number, string>;
  /** argNpath='value': string or object-path argument N is path-related. */
  argPaths: Map<number, string>;
  arg0namespace?: string;
  eavesdrop?: boolean;
}

function invalid(text: string, why: string): DBusError {
  return new DBusError(ErrorNames.MatchRuleInvalid, `Invalid match rule '${text}': ${why}`);
}

/**
 * Splits `key='value',...` into pairs. Quoting follows the spec: inside
 * single quotes every character is literal (backslash included); outside
 * quotes, \' stands for an apostrophe and any other backslash is literal.
 * Whitespace before a key is skipped, as dbus-daemon does.
 */
function tokenize(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    const eq = text.indexOf('=', i);
    if (eq < 0) throw invalid(text, `key '${text.slice(i)}' has no value`);
    const key = text.slice(i, eq);
    if (!/^[a-z0-9_]+$/.test(key)) throw invalid(text, `bad key '${key}'`);
    i = eq + 1;
    let value = '';
    let quoted = false;
    while (i < n) {
      const c = text[i]!;
      if (quoted) {
        if (c === "'") quoted = false;
        else value += c;
        i++;
      } else if (c === "'") {
        quoted = true;
        i++;
      } else if (c === '\\' && text[i + 1] === "'") {
        value += "'";
        i += 2;
      } else if (c === ',') {
        break;
      } else {
        value += c;
        i++;
      }
    }
    if (quoted) throw invalid(text, `unterminated quote in value of '${key}'`);
    pairs.push([key, value]);
    if (i < n) i++; // the comma
  }
  return pairs;
}

/** Quotes a value so that tokenize() gives it back unchanged. */
export function quoteMatchValue(value: string): string {
  return "'" + value.split("'").join("'\\''") + "'";
}

/** Parses a rule or throws DBusError(MatchRuleInvalid) saying what is wrong. */
export function parseMatchRule(text: string): MatchRule {
  if (typeof text !== 'string') throw invalid(String(text), 'not a string');
  if (text.length > MAX_MATCH_RULE_LENGTH) throw invalid(text.slice(0, 40) + '...', 'longer than 1024 characters');
  const rule: MatchRule = { text, key: '', args: new Map(), argPaths: new Map() };
  const seen = new Set<string>();
  for (const [key, value] of tokenize(text)) {
    if (seen.has(key)) throw invalid(text, `key '${key}' given twice`);
    seen.add(key);
    switch (key) {
      case 'type': {
        const t = TYPE_NAMES[value];
        if (t === undefined) throw invalid(text, `unknown message type '${value}'`);
        rule.type = t;
        break;
      }
      case 'sender':
        if (value !== 'org.freedesktop.DBus' && !isValidBusName(value)) throw invalid(text, `bad sender '${value}'`);
        rule.sender = value;
        break;
      case 'interface':
        if (!isValidInterfaceName(value)) throw invalid(text, `bad interface '${value}'`);
        rule.interface = value;
        break;
      case 'member':
        if (!isValidMemberName(value)) throw invalid(text, `bad member '${value}'`);
        rule.member = value;
        break;
      case 'path':
        if (!isValidObjectPath(value)) throw invalid(text, `bad path '${value}'`);
        rule.path = value;
        break;
      case 'path_namespace':
        if (!isValidObjectPath(value)) throw invalid(text, `bad path_namespace '${value}'`);
        rule.pathNamespace = value;
        break;
      case 'destination':
        if (!isValidBusName(value)) throw invalid(text, `bad destination '${value}'`);
        rule.destination = value;
        break;
      case 'eavesdrop':
        if (value !== 'true' && value !== 'false') throw invalid(text, `eavesdrop must be 'true' or 'false'`);
        rule.eavesdrop = value === 'true';
        break;
      case 'arg0namespace':
        // A bus-name or interface-name prefix: elements separated by dots,
        // a single element allowed (e.g. 'com').
        if (!/^[A-Za-z_-][A-Za-z0-9_-]*(?:\.[A-Za-z_-][A-Za-z0-9_-]*)*$/.test(value) || value.length > 255) {
          throw invalid(text, `bad arg0namespace '${value}'`);
        }
        rule.arg0namespace = value;
        break;
      default: {
        const m = /^arg(\d{1,2})(path)?$/.exec(key);
        if (m === null) throw invalid(text, `unknown key '${key}'`);
        const index = Number(m[1]);
        if (index > MAX_MATCH_ARG || (m[1]!.length > 1 && m[1]![0] === '0')) {
          throw invalid(text, `argument index in '${key}' is not 0..63`);
        }
        if (m[2] !== undefined) {
          if (rule.args.has(index)) throw invalid(text, `arg${index} and arg${index}path both given`);
          rule.argPaths.set(index, value);
        } else {
          if (rule.argPaths.has(index)) throw invalid(text, `arg${index} and arg${index}path both given`);
          rule.args.set(index, value);
        }
      }
    }
  }
  if (rule.path !== undefined && rule.pathNamespace !== undefined) {
    throw invalid(text, 'path and path_namespace cannot both be given');
  }
  if (rule.arg0namespace !== undefined && (rule.args.has(0) || rule.argPaths.has(0))) {
    throw invalid(text, 'arg0namespace cannot be combined with arg0 or arg0path');
  }
  rule.key = canonical(rule);
  return rule;
}

function canonical(rule: MatchRule): string {
  const parts: string[] = [];
  const add = (k: string, v: string | undefined): void => {
    if (v !== undefined) parts.push(`${k}=${quoteMatchValue(v)}`);
  };
  const typeName = Object.keys(TYPE_NAMES).find((k) => TYPE_NAMES[k] === rule.type);
  add('type', typeName);
  add('sender', rule.sender);
  add('interface', rule.interface);
  add('member', rule.member);
  add('path', rule.path);
  add('path_namespace', rule.pathNamespace);
  add('destination', rule.destination);
  for (const i of [...rule.args.keys()].sort((a, b) => a - b)) add(`arg${i}`, rule.args.get(i));
  for (const i of [...rule.argPaths.keys()].sort((a, b) => a - b)) add(`arg${i}path`, rule.argPaths.get(i));
  add('arg0namespace', rule.arg0namespace);
  if (rule.eavesdrop !== undefined) add('eavesdrop', String(rule.eavesdrop));
  return parts.join(',');
}

/** Type codes of the body's arguments, one per complete type ('' if unparsable). */
function argTypes(signature: string): string[] {
  try {
    return parseSignature(signature).map((n) => n.type);
  } catch {
    return [];
  }
}

/** True when path `p` is `ns` or lies below it. */
export function inPathNamespace(p: string, ns: string): boolean {
  if (ns === '/') return true;
  return p === ns || p.startsWith(ns + '/');
}

function argPathMatches(arg: string, want: string): boolean {
  if (arg === want) return true;
  if (want.endsWith('/') && arg.startsWith(want)) return true;
  if (arg.endsWith('/') && want.startsWith(arg)) return true;
  return false;
}

/**
 * Does `msg` (with its SENDER already trusted) satisfy `rule`?
 * `ownerOf` resolves a well-known sender name to its current unique owner.
 */
export function matchesRule(
  rule: MatchRule,
  msg: Message,
  ownerOf: (name: string) => string | undefined,
): boolean {
  if (rule.type !== undefined && msg.type !== rule.type) return false;
  if (rule.interface !== undefined && msg.interface !== rule.interface) return false;
  if (rule.member !== undefined && msg.member !== rule.member) return false;
  if (rule.path !== undefined && msg.path !== rule.path) return false;
  if (rule.pathNamespace !== undefined && (msg.path === undefined || !inPathNamespace(msg.path, rule.pathNamespace))) {
    return false;
  }
  if (rule.destination !== undefined && msg.destination !== rule.destination) return false;
  if (rule.sender !== undefined) {
    if (msg.sender === undefined) return false;
    if (rule.sender.startsWith(':') || rule.sender === 'org.freedesktop.DBus') {
      if (msg.sender !== rule.sender) return false;
    } else if (ownerOf(rule.sender) !== msg.sender) {
      return false;
    }
  }
  if (rule.args.size > 0 || rule.argPaths.size > 0 || rule.arg0namespace !== undefined) {
    const types = argTypes(msg.signature);
    const body = msg.body ?? [];
    for (const [i, want] of rule.args) {
      if (types[i] !== 's' || body[i] !== want) return false;
    }
    for (const [i, want] of rule.argPaths) {
      const t = types[i];
      if ((t !== 's' && t !== 'o') || typeof body[i] !== 'string' || !argPathMatches(body[i] as string, want)) {
        return false;
      }
    }
    if (rule.arg0namespace !== undefined) {
      const a = body[0];
      if (types[0] !== 's' || typeof a !== 'string') return false;
      if (a !== rule.arg0namespace && !a.startsWith(rule.arg0namespace + '.')) return false;
    }
  }
  return true;
}
