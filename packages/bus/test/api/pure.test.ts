// Pure parts of the API: argument checking, fd mapping, definitions,
// introspection XML both ways, and the pub/sub topic mapping.
import { describe, it, expect } from 'vitest';
import {
  prepareOutgoing, mapIncomingFds, ArgumentError, defineInterface, DefinitionError, parseIntrospection, nodeToXml,
  IntrospectionError, topicToPath, pathToTopic, topicPatternToFilter, TopicError, packValue, unpackValue, matchRuleFor,
} from '../../src/api/index.js';
import { Variant } from '../../src/wire/variant.js';

describe('argument checking', () => {
  it('normalises valid values', () => {
    const fds: number[] = [];
    const out = prepareOutgoing('xtayha{sv}(sh)', [5, 7n, new Uint8Array([1, 2]), 42, { a: new Variant('u', 1) }, ['s', 42]], fds);
    expect(out[0]).toBe(5n);
    expect(out[1]).toBe(7n);
    expect(Buffer.isBuffer(out[2])).toBe(true);
    expect(out[3]).toBe(0); // fd 42 -> index 0, reused by the struct
    expect(out[5]).toEqual(['s', 0]);
    expect(fds).toEqual([42]);
    expect(prepareOutgoing('a{us}', [new Map([[1, 'x']])], [])).toEqual([{ 1: 'x' }]);
  });

  it('names the bad argument', () => {
    const bad: [string, unknown[], RegExp][] = [
      ['u', [-1], /argument 0 \(n\): expected uint32/],
      ['y', [256], /expected byte/],
      ['i', [1.5], /expected int32/],
      ['x', [1.5], /int64/],
      ['t', [-1n], /out of range/],
      ['s', [3], /expected string/],
      ['o', ['not/a/path'], /object path/],
      ['g', ['a{'], /signature/],
      ['as', [['a', 1]], /argument 0 \(n\)\[1\]: expected string/],
      ['(si)', [['a']], /struct needs 2/],
      ['v', ['raw'], /expected a Variant/],
      ['a{is}', [{ x: 'a' }], /integer key/],
      ['ss', ['one'], /needs 2 value/],
      ['b', [1], /expected boolean/],
    ];
    for (const [sig, vals, re] of bad) {
      expect(() => prepareOutgoing(sig, vals, [], ['n']), sig).toThrow(ArgumentError);
      expect(() => prepareOutgoing(sig, vals, [], ['n']), sig).toThrow(re);
    }
  });

  it('maps received fd indices to fds, also inside variants', () => {
    const got = mapIncomingFds('ha(sh)v', [1, [['a', 0]], new Variant('h', 1)], [10, 11]);
    expect(got[0]).toBe(11);
    expect(got[1]).toEqual([['a', 10]]);
    expect((got[2] as Variant).value).toBe(11);
    expect(mapIncomingFds('h', [5], [10])).toEqual([-1]);
  });
});

describe('defineInterface', () => {
  it('builds introspection data with names and annotations', () => {
    const d = defineInterface('com.example.Calc', {
      methods: { Add: { in: [['a', 'i'], ['b', 'i']], out: 'i' }, Fire: { in: 's', noReply: true } },
      signals: { Overflow: 'sx' },
      properties: { Precision: { type: 'u', access: 'readwrite', emitsChanged: 'invalidates' } },
    });
    expect(d.info.methods[0]).toEqual({ name: 'Add', inArgs: [{ name: 'a', type: 'i' }, { name: 'b', type: 'i' }], outArgs: [{ type: 'i' }], annotations: [] });
    expect(d.info.signals[0]!.args).toEqual([{ type: 's' }, { type: 'x' }]);
    expect(d.toXml()).toContain('<annotation name="org.freedesktop.DBus.Method.NoReply" value="true"/>');
    expect(d.toXml()).toContain('<property name="Precision" type="u" access="readwrite">');
  });

  it('rejects malformed definitions with DefinitionError', () => {
    expect(() => defineInterface('nodots', {})).toThrow(DefinitionError);
    expect(() => defineInterface('a.b', { methods: { 'bad-name': {} } })).toThrow(/not a valid method name/);
    expect(() => defineInterface('a.b', { methods: { M: { in: 'a{' } } })).toThrow(DefinitionError);
    expect(() => defineInterface('a.b', { methods: { M: { in: [['x', 'ss']] } } })).toThrow(/one complete type/);
    expect(() => defineInterface('a.b', { properties: { P: { type: 'uu' } } })).toThrow(/one complete type/);
    expect(() => defineInterface('a.b', { properties: { P: { type: 'u', access: 'rw' as 'read' } } })).toThrow(/bad access/);
    // Garbage from JS callers: a DefinitionError, never a TypeError from inside.
    for (const spec of [null, 5, { methods: 3 }, { methods: { M: null } }, { properties: { P: null } }, { properties: { P: { type: 7 } } }, { signals: { S: 5 } }]) {
      expect(() => defineInterface('a.b', spec as never), JSON.stringify(spec)).toThrow(DefinitionError);
    }
    expect(() => defineInterface(null as never, {})).toThrow(DefinitionError);
    expect(() => defineInterface('a.b', {}).implement(null as never)).toThrow(DefinitionError);
    const d = defineInterface('a.b', { methods: { M: {} } });
    expect(() => d.implement({} as never)).toThrow(/no implementation for method M/);
    expect(() => defineInterface('a.b', { properties: { P: { type: 'u' } } }).implement({}, { properties: { P: 'x' as unknown as number } })).toThrow(ArgumentError);
  });
});

describe('introspection XML', () => {
  it('round-trips nodes, interfaces, annotations and escapes', () => {
    const xml = `<?xml version="1.0"?>
<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<!-- a comment -->
<node name="/com/example">
  <interface name="com.example.A">
    <method name="M"><arg name="x" type="a{sv}" direction="in"/><arg type="(ii)" direction="out"/></method>
    <signal name="S"><arg type="s"/></signal>
    <property name="P" type="s" access="read"><annotation name="org.example.Note" value="a &amp; b &lt;&#65;&gt;"/></property>
  </interface>
  <node name="child1"/><node name='child2'><interface name="com.example.B"/></node>
</node>`;
    const n = parseIntrospection(xml);
    expect(n.name).toBe('/com/example');
    expect(n.interfaces[0]!.methods[0]).toEqual({ name: 'M', inArgs: [{ name: 'x', type: 'a{sv}' }], outArgs: [{ type: '(ii)' }], annotations: [] });
    expect(n.interfaces[0]!.properties[0]!.annotations[0]!.value).toBe('a & b <A>');
    expect(n.nodes.map((c) => c.name)).toEqual(['child1', 'child2']);
    expect(n.nodes[1]!.interfaces[0]!.name).toBe('com.example.B');
    const again = parseIntrospection(nodeToXml(n));
    expect(again.interfaces).toEqual(n.interfaces);
    expect(again.nodes.map((c) => c.name)).toEqual(['child1', 'child2']);
  });

  it('rejects malformed XML with IntrospectionError', () => {
    for (const bad of ['', '<node>', '<node></interface>', '<node><interface></interface></node>', '<node attr=x/>', 'text<node/>', '<node/><node/>',
      '<node><interface name="a.b"><property name="P" type="s" access="rw"/></interface></node>', '<node><!-- open </node>', '<node a="&bogus;"/>']) {
      expect(() => parseIntrospection(bad), bad).toThrow(IntrospectionError);
    }
  });
});

describe('pub/sub topics', () => {
  it('maps topics to paths reversibly', () => {
    expect(topicToPath('sensors.kitchen/temp')).toBe('/org/ipnbus/pubsub/sensors/kitchen/temp');
    expect(topicToPath('a-b.c_d')).toBe('/org/ipnbus/pubsub/a_2db/c_5fd');
    expect(topicToPath('température')).toBe('/org/ipnbus/pubsub/temp_c3_a9rature');
    expect(pathToTopic(topicToPath('a-b.c_d.température'))).toBe('a-b.c_d.température');
    expect(pathToTopic('/elsewhere')).toBeUndefined();
    for (const bad of ['', '.a', 'a.', 'a..b', 'a//b']) expect(() => topicToPath(bad), bad).toThrow(TopicError);
  });

  it('turns patterns into filters', () => {
    expect(topicPatternToFilter('a.b')).toEqual({ path: '/org/ipnbus/pubsub/a/b' });
    expect(topicPatternToFilter('a.b.*')).toEqual({ pathNamespace: '/org/ipnbus/pubsub/a/b' });
    expect(topicPatternToFilter('*')).toEqual({ pathNamespace: '/org/ipnbus/pubsub' });
    expect(() => topicPatternToFilter('a.*.b')).toThrow(TopicError);
    expect(matchRuleFor({ pathNamespace: '/x', interface: 'a.b', arg0: "it's" })).toBe("type='signal',path_namespace='/x',interface='a.b',arg0='it'\\''s'");
  });

  it('packs nested JS values with msgpackr', () => {
    const v = { when: new Date(1700000000123), big: 2n ** 60n, list: [1, 'two', { three: [3.5, null, true] }], bytes: Buffer.from([1, 2, 3]), set: new Set([1, 2]), map: new Map([['k', 1]]) };
    const back = unpackValue(packValue(v)) as typeof v;
    expect(back.when).toEqual(v.when);
    expect(back.big).toBe(v.big);
    expect(back.list).toEqual(v.list);
    expect(Buffer.from(back.bytes)).toEqual(v.bytes);
    expect(back.set).toEqual(new Set([1, 2]));
    // Maps travel as msgpack maps and come back as plain objects.
    expect(back.map).toEqual({ k: 1 });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => packValue(cyclic)).toThrow(/cannot publish this value/);
    expect(() => packValue(Symbol('s'))).toThrow(TypeError);
  });
});
