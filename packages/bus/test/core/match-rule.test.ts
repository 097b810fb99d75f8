// Match rules: the parser's syntax and errors, and matching for every key.
import { describe, expect, it } from 'vitest';
import { parseMatchRule, matchesRule, quoteMatchValue } from '../../src/core/match-rule.js';
import { DBusError } from '../../src/core/errors.js';
import { MessageType, type Message } from '../../src/wire/index.js';

function sig(over: Partial<Message> = {}): Message {
  return {
    type: MessageType.SIGNAL,
    flags: 0,
    serial: 1,
    path: '/org/example/Obj',
    interface: 'org.example.Iface',
    member: 'Changed',
    sender: ':1.7',
    signature: 'sos',
    body: ['com.example.backend1.foo', '/aa/bb/cc', 'third'],
    ...over,
  };
}

const owners: Record<string, string> = { 'org.example.Svc': ':1.7' };
const ownerOf = (n: string): string | undefined => owners[n];
const m = (rule: string, msg: Message = sig()): boolean => matchesRule(parseMatchRule(rule), msg, ownerOf);

function invalid(rule: string): void {
  let err: unknown;
  try {
    parseMatchRule(rule);
  } catch (e) {
    err = e;
  }
  expect(err, rule).toBeInstanceOf(DBusError);
  expect((err as DBusError).name).toBe('org.freedesktop.DBus.Error.MatchRuleInvalid');
}

describe('match rule parsing', () => {
  it('accepts the empty rule, which matches everything', () => {
    expect(m('')).toBe(true);
    expect(m('', sig({ type: MessageType.METHOD_CALL }))).toBe(true);
  });

  it('parses quoting: backslash literal inside quotes, \\\' outside', () => {
    expect(parseMatchRule("arg0='a\\b'").args.get(0)).toBe('a\\b');
    expect(parseMatchRule("arg0=\\'").args.get(0)).toBe("'");
    expect(parseMatchRule("arg0='don'\\''t'").args.get(0)).toBe("don't");
    expect(parseMatchRule('arg0=plain').args.get(0)).toBe('plain');
    expect(parseMatchRule("arg0='a,b'").args.get(0)).toBe('a,b');
    expect(parseMatchRule("arg0=''").args.get(0)).toBe('');
    for (const v of ["it's", "''", 'a\\b', ',', "\\'"]) {
      expect(parseMatchRule(`arg1=${quoteMatchValue(v)}`).args.get(1)).toBe(v);
    }
  });

  it('skips whitespace before keys', () => {
    const r = parseMatchRule("type='signal', member='Changed'");
    expect(r.member).toBe('Changed');
  });

  it('gives the same key to equivalent rules', () => {
    expect(parseMatchRule("member='A',type='signal'").key).toBe(parseMatchRule("type=signal,member=A").key);
  });

  it.each([
    "type='bogus'",
    "unknown='x'",
    "member='a.b'",
    "interface='nodots'",
    "path='no/leading'",
    "path='/trailing/'",
    "path_namespace='/x/'",
    "sender='not a name'",
    "destination='1bad.name'",
    "arg64='x'",
    "arg01='x'",
    "arg3path='/a',arg3='b'",
    "arg0namespace='a..b'",
    "arg0namespace='x',arg0='y'",
    "path='/a',path_namespace='/a'",
    "member='A',member='B'",
    "member='unterminated",
    'member',
    "eavesdrop='maybe'",
    '=x',
    'x'.repeat(1100),
  ])('rejects %s with MatchRuleInvalid', (rule) => invalid(rule));
});

describe('match rule keys', () => {
  it('type', () => {
    expect(m("type='signal'")).toBe(true);
    expect(m("type='method_call'")).toBe(false);
    expect(m("type='method_call'", sig({ type: MessageType.METHOD_CALL }))).toBe(true);
    expect(m("type='method_return'", sig({ type: MessageType.METHOD_RETURN }))).toBe(true);
    expect(m("type='error'", sig({ type: MessageType.ERROR }))).toBe(true);
  });

  it('sender by unique name and by well-known name through the view', () => {
    expect(m("sender=':1.7'")).toBe(true);
    expect(m("sender=':1.8'")).toBe(false);
    expect(m("sender='org.example.Svc'")).toBe(true);
    owners['org.example.Svc'] = ':1.9';
    expect(m("sender='org.example.Svc'")).toBe(false);
    owners['org.example.Svc'] = ':1.7';
    expect(m("sender='org.example.Nobody'")).toBe(false);
    expect(m("sender='org.freedesktop.DBus'", sig({ sender: 'org.freedesktop.DBus' }))).toBe(true);
  });

  it('interface, member, path', () => {
    expect(m("interface='org.example.Iface'")).toBe(true);
    expect(m("interface='org.example.Other'")).toBe(false);
    expect(m("member='Changed'")).toBe(true);
    expect(m("member='Other'")).toBe(false);
    expect(m("path='/org/example/Obj'")).toBe(true);
    expect(m("path='/org/example'")).toBe(false);
  });

  it('path_namespace', () => {
    expect(m("path_namespace='/org/example'")).toBe(true);
    expect(m("path_namespace='/org/example/Obj'")).toBe(true);
    expect(m("path_namespace='/org/exam'")).toBe(false);
    expect(m("path_namespace='/'")).toBe(true);
    expect(m("path_namespace='/org/example/Obj/Sub'")).toBe(false);
  });

  it('destination', () => {
    expect(m("destination=':1.3'", sig({ destination: ':1.3' }))).toBe(true);
    expect(m("destination=':1.3'", sig({ destination: ':1.4' }))).toBe(false);
    expect(m("destination=':1.3'")).toBe(false);
  });

  it('argN matches only string arguments', () => {
    expect(m("arg0='com.example.backend1.foo'")).toBe(true);
    expect(m("arg2='third'")).toBe(true);
    expect(m("arg2='other'")).toBe(false);
    // arg1 is an object path: argN does not apply to it.
    expect(m("arg1='/aa/bb/cc'")).toBe(false);
    expect(m("arg5='x'")).toBe(false);
    expect(m("arg0='x'", sig({ signature: 'u', body: [5] }))).toBe(false);
    expect(m("arg63='z'", sig({ signature: 's'.repeat(64), body: Array.from({ length: 64 }, (_, i) => (i === 63 ? 'z' : 'a')) }))).toBe(true);
  });

  it('argNpath on strings and object paths', () => {
    expect(m("arg1path='/aa/bb/cc'")).toBe(true);
    expect(m("arg1path='/aa/bb/'")).toBe(true);
    expect(m("arg1path='/aa/b'")).toBe(false);
    expect(m("arg1path='/aa/bb/cc/dd'")).toBe(false);
    // The argument ends in '/' and is a prefix of the rule's value.
    expect(m("arg1path='/aa/bb/cc/dd'", sig({ body: ['x', '/aa/', 'y'] }))).toBe(true);
    expect(m("arg0path='/aa/bb/cc/dd'", sig({ body: ['/aa/', '/', 'y'] }))).toBe(true);
    expect(m("arg2path='third'")).toBe(true);
  });

  it('arg0namespace', () => {
    expect(m("arg0namespace='com.example.backend1'")).toBe(true);
    expect(m("arg0namespace='com.example'")).toBe(true);
    expect(m("arg0namespace='com.example.backend1.foo'")).toBe(true);
    expect(m("arg0namespace='com.example.back'")).toBe(false);
    expect(m("arg0namespace='com'")).toBe(true);
  });

  it('eavesdrop is accepted and ignored', () => {
    expect(m("eavesdrop='true',member='Changed'")).toBe(true);
    expect(m("eavesdrop='false',member='Other'")).toBe(false);
  });

  it('all keys together must all hold', () => {
    const r = "type='signal',sender='org.example.Svc',interface='org.example.Iface',member='Changed',path_namespace='/org',arg0namespace='com.example',arg2='third'";
    expect(m(r)).toBe(true);
    expect(m(r, sig({ member: 'Nope' }))).toBe(false);
  });
});
