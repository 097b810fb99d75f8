// A remote object as introspected: its interfaces as dynamic (untyped)
// ProxyInterfaces and its child nodes, as dbus-next's ProxyObject.
import { DBusError, ErrorNames } from '../core/errors.js';
import type { NodeInfo } from './introspection.js';
import { ProxyInterface, type ProxyHost } from './proxy-interface.js';

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

  /** The interface's proxy; throws DBusError UnknownInterface when the object lacks it. */
  getInterface(name: string): ProxyInterface {
    const i = this.interfaces[name];
    if (!i) throw new DBusError(ErrorNames.UnknownInterface, `object ${this.path} at ${this.name} has no interface ${name}`);
    return i;
  }

  /** Drop all listeners and match rules of every interface. */
  close(): void {
    for (const i of Object.values(this.interfaces)) i.close();
  }
}
