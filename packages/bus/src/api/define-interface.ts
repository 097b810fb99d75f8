// defineInterface(): the one place an interface is declared; the returned
// definition makes typed implementations and typed proxies from it.
import { interfaceToXml, parseIntrospection, type ArgInfo, type InterfaceInfo } from './introspection.js';
import { specToInfo, emitsChanged, type ArgSpec, type Implementation, type InterfaceSpec, type MethodSpec, type PropertySpec } from './definition.js';
import { ServiceInterface, type ImplementOptions } from './service-interface.js';
import { ProxyInterface, type ProxyHost, type TypedProxy } from './proxy-interface.js';

export class InterfaceDefinition<S extends InterfaceSpec = InterfaceSpec> {
  /** Introspection data, validated when the definition was made. */
  readonly info: InterfaceInfo;

  constructor(
    readonly name: string,
    readonly spec: S,
  ) {
    this.info = specToInfo(name, spec);
  }

  /**
   * Bind method implementations (and property values) to this interface,
   * ready for `bus.export(path, ...)`. Every method must be implemented.
   */
  implement(impl: Implementation<S>, options?: ImplementOptions<S>): ServiceInterface<S> {
    return new ServiceInterface<S>(this.info, impl, options);
  }

  /**
   * A typed proxy for this interface on `destination` at `path`. No
   * introspection round trip: the definition is the contract. Synchronous;
   * `await` on it is harmless.
   */
  proxy(bus: ProxyHost, destination: string, path: string): TypedProxy<S> {
    return new ProxyInterface(bus, destination, path, this.info) as unknown as TypedProxy<S>;
  }

  /** The <interface> element of this definition's introspection XML. */
  toXml(): string {
    return interfaceToXml(this.info, '');
  }
}

/**
 * Declare a D-Bus interface once. Argument and property types are D-Bus
 * signature literals, from which the TypeScript types of implementations
 * and proxies are derived:
 *
 *   const Calc = defineInterface('com.example.Calc', {
 *     methods: { Add: { in: [['a', 'i'], ['b', 'i']], out: 'i' } },
 *     signals: { Overflow: 's' },
 *     properties: { Precision: { type: 'u', access: 'readwrite' } },
 *   });
 *
 * Throws DefinitionError for bad names or signatures.
 */
export function defineInterface<const S extends InterfaceSpec>(name: string, spec: S): InterfaceDefinition<S> {
  return new InterfaceDefinition<S>(name, spec);
}

function argSpec(args: ArgInfo[]): ArgSpec {
  return args.every((a) => a.name) ? args.map((a) => [a.name!, a.type] as const) : args.map((a) => a.type).join('');
}

const HANDLED = ['org.freedesktop.DBus.Method.NoReply', 'org.freedesktop.DBus.Deprecated', 'org.freedesktop.DBus.Property.EmitsChangedSignal'];

/** The spec that describes existing introspection data (inverse of specToInfo). */
export function specFromInfo(info: InterfaceInfo): InterfaceSpec {
  const other = (list: { name: string; value: string }[]): Record<string, string> | undefined => {
    const rest = list.filter((a) => !HANDLED.includes(a.name));
    return rest.length ? Object.fromEntries(rest.map((a) => [a.name, a.value])) : undefined;
  };
  const methods: Record<string, MethodSpec> = {};
  for (const m of info.methods) {
    const flag = (n: string): boolean => m.annotations.some((a) => a.name === n && a.value === 'true');
    const annotations = other(m.annotations);
    methods[m.name] = {
      ...(m.inArgs.length ? { in: argSpec(m.inArgs) } : {}),
      ...(m.outArgs.length ? { out: argSpec(m.outArgs) } : {}),
      ...(flag('org.freedesktop.DBus.Method.NoReply') ? { noReply: true } : {}),
      ...(flag('org.freedesktop.DBus.Deprecated') ? { deprecated: true } : {}),
      ...(annotations ? { annotations } : {}),
    };
  }
  const signals: Record<string, ArgSpec> = {};
  for (const s of info.signals) signals[s.name] = argSpec(s.args);
  const properties: Record<string, PropertySpec> = {};
  for (const p of info.properties) {
    const ec = p.annotations.some((a) => a.name === 'org.freedesktop.DBus.Property.EmitsChangedSignal') ? emitsChanged(p) : 'true';
    const annotations = other(p.annotations);
    properties[p.name] = {
      type: p.type,
      access: p.access,
      ...(ec !== 'true' ? { emitsChanged: ec === 'false' ? false : ec } : {}),
      ...(annotations ? { annotations } : {}),
    };
  }
  const annotations = other(info.annotations);
  return { methods, signals, properties, ...(annotations ? { annotations } : {}) };
}

/**
 * Definitions (untyped: signatures known at run time) for every interface
 * in an introspection document, by name: implement a service from an
 * existing XML contract without generating code. Throws IntrospectionError
 * for malformed XML, DefinitionError for invalid names or signatures.
 */
export function interfacesFromXml(xml: string): Map<string, InterfaceDefinition> {
  const out = new Map<string, InterfaceDefinition>();
  const walk = (n: ReturnType<typeof parseIntrospection>): void => {
    for (const i of n.interfaces) if (!out.has(i.name)) out.set(i.name, new InterfaceDefinition(i.name, specFromInfo(i)));
    n.nodes.forEach(walk);
  };
  walk(parseIntrospection(xml));
  return out;
}
