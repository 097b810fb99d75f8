// A remote object as introspected: its interfaces as dynamic (untyped)
// ProxyInterfaces and its child nodes, as dbus-next's ProxyObject.
import { DBusError, ErrorNames } from '../core/errors.js';
import type { NodeInfo } from './introspection.js';
import { ProxyInterface, type ProxyHost, type TypedProxy } from './proxy-interface.js';
import type { InterfaceDefinition } from './define-interface.js';
import type { InterfaceSpec } from './definition.js';

export class ProxyObject {
  /** Interfaces by name. */
  readonly interfaces: Record<string, ProxyInterface> = {};
  /** Absolute paths of the child nodes the object listed. */
  readonly nodes: string[];

  constructor(
    readonly host: ProxyHost,
    readonly name: string,
    readonly path: string,
    readonly node: NodeInfo,
  ) {
    for (const i of node.interfaces) this.interfaces[i.name] = new ProxyInterface(host, name, path, i);
    this.nodes = node.nodes.filter((n) => n.name).map((n) => (path === '/' ? '' : path) + '/' + n.name);
  }

  /**
   * The interface's proxy; throws DBusError UnknownInterface when the object
   * lacks it. Given a definition, the proxy is typed by it (and built from
   * the definition, so its signatures are the ones the caller compiled with).
   */
  getInterface(name: string): ProxyInterface;
  getInterface<S extends InterfaceSpec>(def: InterfaceDefinition<S>): TypedProxy<S>;
  // `any` only on the implementation signature: the overloads above carry the types.
  getInterface(which: string | InterfaceDefinition<any>): ProxyInterface | TypedProxy<any> {
    const name = typeof which === 'string' ? which : which.name;
    const i = this.interfaces[name];
    if (!i) throw new DBusError(ErrorNames.UnknownInterface, `object ${this.path} at ${this.name} has no interface ${name}`);
    if (typeof which === 'string') return i;
    return which.proxy(this.host, this.name, this.path);
  }

  /** Drop all listeners and match rules of every interface. */
  close(): void {
    for (const i of Object.values(this.interfaces)) i.close();
  }
}
