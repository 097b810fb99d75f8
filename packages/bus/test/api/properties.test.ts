// Property-based checks (fast-check): whatever the caller passes, argument
// checking either accepts a value the wire layer then marshals and decodes
// back, or throws ArgumentError; the introspection reader only ever throws
// IntrospectionError.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { prepareOutgoing, ArgumentError, parseIntrospection, IntrospectionError, nodeToXml, type NodeInfo } from '../../src/api/index.js';
import { Variant } from '../../src/wire/variant.js';
import { marshal, unmarshal } from '../../src/wire/index.js';

type Gen = { sig: string; value: fc.Arbitrary<unknown> };

const basics: Gen[] = [
  { sig: 'y', value: fc.integer({ min: 0, max: 255 }) },
  { sig: 'b', value: fc.boolean() },
  { sig: 'n', value: fc.integer({ min: -32768, max: 32767 }) },
  { sig: 'q', value: fc.integer({ min: 0, max: 65535 }) },
  { sig: 'i', value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { sig: 'u', value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) },
  { sig: 'x', value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
  { sig: 't', value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
  { sig: 'd', value: fc.double({ noNaN: true }) },
  { sig: 's', value: fc.string().filter((s) => !s.includes('\0')) },
  { sig: 'o', value: fc.constantFrom('/', '/a', '/a/b_c/D9') },
  { sig: 'g', value: fc.constantFrom('', 's', 'a{sv}', '(iu)ay') },
];

/** A random complete type with an arbitrary of valid values for it. */
const typeGen: fc.Memo<Gen> = fc.memo((depth) => {
  const basic = fc.constantFrom(...basics);
  if (depth <= 1) return basic;
  return fc.oneof(
    { weight: 3, arbitrary: basic },
    { weight: 1, arbitrary: typeGen(depth - 1).map((t) => ({ sig: 'a' + t.sig, value: t.sig === 'y' ? fc.uint8Array().map((a) => Buffer.from(a)) : fc.array(t.value, { maxLength: 3 }) })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...basics.filter((b) => 'sqi'.includes(b.sig))), typeGen(depth - 1)).map(([k, v]) => ({ sig: `a{${k.sig}${v.sig}}`, value: fc.dictionary(k.sig === 's' ? fc.string({ maxLength: 4 }).filter((s) => !s.includes('\0')) : fc.nat({ max: 999 }).map(String), v.value, { maxKeys: 3 }) })) },
    { weight: 1, arbitrary: fc.array(typeGen(depth - 1), { minLength: 1, maxLength: 3 }).map((ts) => ({ sig: '(' + ts.map((t) => t.sig).join('') + ')', value: fc.tuple(...ts.map((t) => t.value)) })) },
    { weight: 1, arbitrary: typeGen(depth - 1).map((t) => ({ sig: 'v', value: t.value.map((v) => new Variant(t.sig, v)) })) },
  );
});

describe('argument checking, property-based', () => {
  it('valid values pass and survive marshal/unmarshal', () => {
    fc.assert(
      fc.property(typeGen(4).chain((t) => fc.tuple(fc.constant(t.sig), t.value)), ([sig, value]) => {
        const body = prepareOutgoing(sig, [value], []);
        const back = unmarshal(sig, marshal(sig, body));
        expect(back).toEqual(body);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary values either pass or give ArgumentError', () => {
    fc.assert(
      fc.property(typeGen(3), fc.anything({ withBigInt: true, withMap: true, withTypedArray: true }), (t, value) => {
        try {
          const body = prepareOutgoing(t.sig, [value], []);
          marshal(t.sig, body); // what checking accepts, the wire must take
        } catch (e) {
          expect(e).toBeInstanceOf(ArgumentError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('introspection reader, property-based', () => {
  it('random text gives a NodeInfo or IntrospectionError, never anything else', () => {
    const xmlish = fc.array(fc.constantFrom('<node', '<interface name="a.b"', '<method name="M"', '<arg type="s"', ' direction="out"', '>', '/>', '</node>', '</interface>', '</method>', '"', '=', ' ', '&amp;', '&', '<!--', '-->', 'x'), { maxLength: 30 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(xmlish, fc.string()), (xml) => {
        try {
          parseIntrospection(xml);
        } catch (e) {
          expect(e).toBeInstanceOf(IntrospectionError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('deep nesting is refused, not a stack overflow', () => {
    expect(() => parseIntrospection('<node>'.repeat(100_000) + '</node>'.repeat(100_000))).toThrow(IntrospectionError);
  });

  it('generated XML parses back to the same tree', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/);
    const node = fc.record({
      interfaces: fc.array(
        fc.record({
          name: fc.tuple(name, name).map(([a, b]) => `${a}.${b}`),
          methods: fc.array(fc.record({ name, inArgs: fc.array(fc.record({ type: fc.constantFrom('s', 'a{sv}', '(ii)') }), { maxLength: 2 }), outArgs: fc.constant([]), annotations: fc.constant([]) }), { maxLength: 2 }),
          signals: fc.constant([]),
          properties: fc.array(fc.record({ name, type: fc.constantFrom('u', 'as'), access: fc.constantFrom('read' as const, 'write' as const, 'readwrite' as const), annotations: fc.array(fc.record({ name: fc.constant('x.y'), value: fc.string() }), { maxLength: 1 }) }), { maxLength: 2 }),
          annotations: fc.constant([]),
        }),
        { maxLength: 2 },
      ),
      nodes: fc.array(name.map((n) => ({ name: n, interfaces: [], nodes: [] })), { maxLength: 2 }),
    });
    fc.assert(
      fc.property(node, (n: NodeInfo) => {
        expect(parseIntrospection(nodeToXml(n))).toEqual(n);
      }),
      { numRuns: 200 },
    );
  });
});
