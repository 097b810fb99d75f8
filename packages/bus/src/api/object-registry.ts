// Exported objects of one bus connection: the path tree, method dispatch,
// and the standard interfaces answered from it (Introspectable, Properties,
// ObjectManager). Peer is answered by core.
import { Variant } from '../wire/variant.js';
import { MessageFlags, type Message } from '../wire/message.js';
import { isValidObjectPath, isValidErrorName } from '../wire/names.js';
import { DBusError, ErrorNames } from '../core/errors.js';
import { interfaceToXml, INTROSPECT_DOCTYPE, type InterfaceInfo } from './introspection.js';
import type { CallContext } from './definition.js';
import type { BusConnection, IncomingCall } from './core-connection.js';
import { mapIncomingFds, prepareOutgoing, ArgumentError } from './values.js';
import { ServiceInterface, PROPERTIES_INTERFACE } from './service-interface.js';
import { STANDARD_INTERFACES, INTROSPECTABLE, PEER, OBJECT_MANAGER } from './standard-interfaces.js';

/** A low-level handler tried before object dispatch; return true when it replied. */
export type MethodHandler = (call: IncomingCall) => boolean;

export class ObjectRegistry {
  private readonly objects = new Map<string, Map<string, ServiceInterface>>();
  private readonly managers = new Set<string>();
  readonly handlers: MethodHandler[] = [];

  constructor(private readonly conn: BusConnection) {}

  export(path: string, iface: ServiceInterface): void {
    if (!isValidObjectPath(path)) throw new DBusError(ErrorNames.InvalidArgs, `'${path}' is not a valid object path`);
    if (!(iface instanceof ServiceInterface)) throw new DBusError(ErrorNames.InvalidArgs, 'export() needs a ServiceInterface (from defineInterface(...).implement())');
    if (STANDARD_INTERFACES.has(iface.name)) throw new DBusError(ErrorNames.InvalidArgs, `${iface.name} is provided by the bus itself`);
    let obj = this.objects.get(path);
    if (!obj) this.objects.set(path, (obj = new Map()));
    const old = obj.get(iface.name);
    if (old === iface) return;
    if (old) old.unbind(this.conn, path);
    obj.set(iface.name, iface);
    iface.bind(this.conn, path);
    this.announce(path, 'InterfacesAdded', 'oa{sa{sv}}', [path, { [iface.name]: safeGetAll(iface) }]);
  }

  /** Remove one interface (by object or name) or, with none given, all of them. */
  unexport(path: string, iface?: ServiceInterface | string): void {
    const obj = this.objects.get(path);
    if (!obj) return;
    const names = iface === undefined ? [...obj.keys()] : [typeof iface === 'string' ? iface : iface.name];
    const removed: string[] = [];
    for (const n of names) {
      const s = obj.get(n);
      if (!s || (typeof iface === 'object' && s !== iface)) continue;
      s.unbind(this.conn, path);
      obj.delete(n);
      removed.push(n);
    }
    if (!obj.size) this.objects.delete(path);
    if (removed.length) this.announce(path, 'InterfacesRemoved', 'oas', [path, removed]);
  }

  /** Answer org.freedesktop.DBus.ObjectManager at `path` for everything below it. */
  enableObjectManager(path: string): void {
    if (!isValidObjectPath(path)) throw new DBusError(ErrorNames.InvalidArgs, `'${path}' is not a valid object path`);
    this.managers.add(path);
  }

  disableObjectManager(path: string): void {
    this.managers.delete(path);
  }

  interfacesAt(path: string): ServiceInterface[] {
    return [...(this.objects.get(path)?.values() ?? [])];
  }

  unbindAll(): void {
    for (const [path, obj] of this.objects) for (const s of obj.values()) s.unbind(this.conn, path);
    this.objects.clear();
  }

  /** Entry point for every METHOD_CALL core hands us; always answers. */
  async dispatch(call: IncomingCall): Promise<void> {
    const { msg, fds } = call;
    try {
      for (const h of this.handlers) if (h(call)) return;
      const result = await this.route(msg, fds);
      if (result) this.conn.reply(msg, result.signature, result.body, result.fds);
    } catch (e) {
      this.replyWithError(msg, e);
    }
  }

  // ---------------------------------------------------------------- routing

  private async route(msg: Message, fds: number[]): Promise<{ signature: string; body: unknown[]; fds?: number[] } | undefined> {
    const path = msg.path ?? '/';
    const member = msg.member ?? '';
    const obj = this.objects.get(path);
    let ifaceName = msg.interface;
    if (!ifaceName) ifaceName = this.findInterfaceFor(path, member);
    // A path with nothing exported is still introspectable when it is the
    // root or has objects below it (so tools can walk the tree); anything
    // else there is an unknown object.
    if (obj === undefined && !this.managers.has(path)) {
      const walkable = path === '/' || this.hasChildren(path);
      if (!walkable || ifaceName !== INTROSPECTABLE.name) throw new DBusError(ErrorNames.UnknownObject, `no object at path ${path}`);
    }
    switch (ifaceName) {
      case INTROSPECTABLE.name:
        this.expect(msg, INTROSPECTABLE, member);
        return { signature: 's', body: [this.introspect(path)] };
      case PROPERTIES_INTERFACE:
        return this.properties(msg, path, member);
      case OBJECT_MANAGER.name:
        if (this.managers.has(path)) {
          this.expect(msg, OBJECT_MANAGER, member);
          return { signature: 'a{oa{sa{sv}}}', body: [this.managedObjects(path)] };
        }
        break;
    }
    const svc = ifaceName ? obj?.get(ifaceName) : undefined;
    if (!svc) {
      if (!ifaceName) throw new DBusError(ErrorNames.UnknownMethod, `no method ${member} on object ${path}`);
      throw new DBusError(ErrorNames.UnknownInterface, `object ${path} has no interface ${ifaceName}`);
    }
    const m = svc.method(member);
    if (!m) throw new DBusError(ErrorNames.UnknownMethod, `no method ${member} in interface ${svc.name} at ${path}`);
    const inSig = m.inArgs.map((a) => a.type).join('');
    if ((msg.signature ?? '') !== inSig) {
      throw new DBusError(ErrorNames.InvalidArgs, `${svc.name}.${member} takes '${inSig}', called with '${msg.signature ?? ''}'`);
    }
    const args = mapIncomingFds(inSig, msg.body ?? [], fds);
    const ctx = this.context(msg, path);
    const result = await svc.invoke(member, [...args, ctx]);
    const outSig = m.outArgs.map((a) => a.type).join('');
    const values = m.outArgs.length === 0 ? [] : m.outArgs.length === 1 ? [result] : result;
    if (!Array.isArray(values) || values.length !== m.outArgs.length) {
      throw new ArgumentError(`${svc.name}.${member} result`, `must be an array of ${m.outArgs.length} values for '${outSig}'`);
    }
    const outFds: number[] = [];
    const body = prepareOutgoing(outSig, values, outFds, m.outArgs.map((a) => a.name ?? ''));
    return { signature: outSig, body, fds: outFds };
  }

  private context(msg: Message, path: string): CallContext {
    const sender = msg.sender ?? '';
    const ctx: CallContext = { sender, path, message: msg };
    const creds = sender ? this.conn.getCredentials(sender) : undefined;
    if (creds) ctx.credentials = creds;
    return ctx;
  }

  /** A call without an interface field: the first interface that has the member. */
  private findInterfaceFor(path: string, member: string): string | undefined {
    for (const s of this.objects.get(path)?.values() ?? []) if (s.method(member)) return s.name;
    if (INTROSPECTABLE.methods.some((m) => m.name === member)) return INTROSPECTABLE.name;
    if (['Get', 'Set', 'GetAll'].includes(member)) return PROPERTIES_INTERFACE;
    if (member === 'GetManagedObjects' && this.managers.has(path)) return OBJECT_MANAGER.name;
    return undefined;
  }

  private expect(msg: Message, iface: InterfaceInfo, member: string): void {
    const m = iface.methods.find((x) => x.name === member);
    if (!m) throw new DBusError(ErrorNames.UnknownMethod, `no method ${member} in interface ${iface.name}`);
    const sig = m.inArgs.map((a) => a.type).join('');
    if ((msg.signature ?? '') !== sig) throw new DBusError(ErrorNames.InvalidArgs, `${iface.name}.${member} takes '${sig}', called with '${msg.signature ?? ''}'`);
  }

  private properties(msg: Message, path: string, member: string): { signature: string; body: unknown[] } | undefined {
    this.expect(msg, STANDARD_INTERFACES.get(PROPERTIES_INTERFACE)!, member);
    const body = msg.body ?? [];
    const ifaceName = body[0] as string;
    const svc = this.objects.get(path)?.get(ifaceName);
    // GetAll on an interface with no properties (or a standard one) is an
    // empty answer, as GDBus and sd-bus give.
    if (!svc) {
      if (member === 'GetAll' && (ifaceName === '' || STANDARD_INTERFACES.has(ifaceName))) return { signature: 'a{sv}', body: [{}] };
      throw new DBusError(ErrorNames.UnknownInterface, `object ${path} has no interface ${ifaceName}`);
    }
    switch (member) {
      case 'Get':
        return { signature: 'v', body: [svc.readForBus(body[1] as string)] };
      case 'GetAll':
        return { signature: 'a{sv}', body: [svc.readAllForBus()] };
      default:
        svc.writeFromBus(body[1] as string, body[2], this.context(msg, path));
        return { signature: '', body: [] };
    }
  }

  private hasChildren(path: string): boolean {
    const prefix = path === '/' ? '/' : path + '/';
    for (const p of this.objects.keys()) if (p.startsWith(prefix)) return true;
    for (const p of this.managers) if (p.startsWith(prefix)) return true;
    return false;
  }

  private childNames(path: string): string[] {
    const prefix = path === '/' ? '/' : path + '/';
    const names = new Set<string>();
    for (const p of [...this.objects.keys(), ...this.managers]) {
      if (p.startsWith(prefix) && p !== path) names.add(p.slice(prefix.length).split('/')[0]!);
    }
    return [...names].sort();
  }

  /** Introspection XML for `path`: what is exported there plus child nodes. */
  introspect(path: string): string {
    const ifaces: InterfaceInfo[] = [PEER, INTROSPECTABLE];
    const own = this.interfacesAt(path);
    if (own.length) ifaces.push(STANDARD_INTERFACES.get(PROPERTIES_INTERFACE)!);
    if (this.managers.has(path)) ifaces.push(OBJECT_MANAGER);
    for (const s of own) ifaces.push(s.info);
    let x = `${INTROSPECT_DOCTYPE}\n<node>\n`;
    for (const i of ifaces) x += interfaceToXml(i);
    for (const c of this.childNames(path)) x += `  <node name="${c}"/>\n`;
    return x + '</node>\n';
  }

  private managedObjects(root: string): Record<string, Record<string, Record<string, Variant>>> {
    const prefix = root === '/' ? '/' : root + '/';
    const out: Record<string, Record<string, Record<string, Variant>>> = {};
    for (const [p, obj] of this.objects) {
      if (!p.startsWith(prefix) || p === root) continue;
      const ifaces: Record<string, Record<string, Variant>> = {};
      for (const s of obj.values()) ifaces[s.name] = safeGetAll(s);
      out[p] = ifaces;
    }
    return out;
  }

  /** InterfacesAdded/Removed from every ObjectManager above `path`. */
  private announce(path: string, member: string, signature: string, body: unknown[]): void {
    for (const m of this.managers) {
      const prefix = m === '/' ? '/' : m + '/';
      if (path.startsWith(prefix) && path !== m) this.conn.emitSignal(m, OBJECT_MANAGER.name, member, signature, body);
    }
  }

  private replyWithError(msg: Message, e: unknown): void {
    if ((msg.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0) return;
    try {
      if (e instanceof DBusError && isValidErrorName(e.name)) this.conn.replyError(msg, e.name, e.message);
      else if (e instanceof ArgumentError) this.conn.replyError(msg, ErrorNames.Failed, `service returned a bad value: ${e.message}`);
      else this.conn.replyError(msg, ErrorNames.Failed, e instanceof Error ? e.message : String(e));
    } catch {
      // The caller is gone (or we are disconnected): nobody is left to tell.
    }
  }
}

// GetAll for announcements must not fail the export because one getter threw.
function safeGetAll(s: ServiceInterface): Record<string, Variant> {
  try {
    return s.readAllForBus();
  } catch {
    return {};
  }
}
