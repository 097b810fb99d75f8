// defineInterface(): the one place an interface is declared; the returned
// definition makes typed implementations and typed proxies from it.
import { interfaceToXml, type InterfaceInfo } from './introspection.js';
import { specToInfo, type Implementation, type InterfaceSpec } from './definition.js';
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
