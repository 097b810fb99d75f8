// An exported interface: a definition plus its method implementations and
// property values; emits its signals and PropertiesChanged wherever exported.
import { Variant } from '../wire/variant.js';
import { PROPERTIES_INTERFACE } from '../core/constants.js';
import { DBusError, ErrorNames } from '../core/errors.js';
import type { InterfaceInfo, MethodInfo, PropertyInfo } from './introspection.js';
import {
  DefinitionError, emitsChanged,
  type CallContext, type Implementation, type InterfaceSpec, type PropertyName, type PropertyType,
  type SignalArgs, type SignalName,
} from './definition.js';
import { prepareOutgoing, prepareOutgoingValue, ArgumentError } from './values.js';
import type { BusConnection } from './core-connection.js';

export { PROPERTIES_INTERFACE };

/** A computed property: `get` is read on every Get; `set` runs on Set. */
export class PropertyAccessor<T> {
  constructor(
    readonly get: () => T,
    readonly set?: (value: T, ctx?: CallContext) => void,
  ) {}
}

/** Make a computed property for `implement(..., { properties })`. */
export function accessor<T>(get: () => T, set?: (value: T, ctx?: CallContext) => void): PropertyAccessor<T> {
  return new PropertyAccessor(get, set);
}

export type PropertyInit<S extends InterfaceSpec> = {
  [P in PropertyName<S>]?: PropertyType<S, P> | PropertyAccessor<PropertyType<S, P>>;
};

export interface ImplementOptions<S extends InterfaceSpec> {
  /** Initial values, or accessor(get, set) for computed properties. */
  properties?: PropertyInit<S>;
}

interface Binding {
  conn: BusConnection;
  path: string;
}

type AnyFn = (...args: unknown[]) => unknown;

export class ServiceInterface<S extends InterfaceSpec = InterfaceSpec> {
  readonly name: string;
  readonly info: InterfaceInfo;
  private readonly impl: Record<string, AnyFn>;
  private readonly methods = new Map<string, MethodInfo>();
  private readonly props = new Map<string, PropertyInfo>();
  private readonly values = new Map<string, unknown>();
  private readonly accessors = new Map<string, PropertyAccessor<unknown>>();
  private readonly bindings: Binding[] = [];
  // Property changes made in one tick go out as one PropertiesChanged.
  private pendingChanged = new Set<string>();
  private flushQueued = false;

  constructor(info: InterfaceInfo, impl: Implementation<S> | Record<string, AnyFn>, options: ImplementOptions<S> = {}) {
    this.name = info.name;
    this.info = info;
    if (impl === null || typeof impl !== 'object') throw new DefinitionError(`${info.name}: implement() needs an object of methods`);
    if (options === null || typeof options !== 'object') throw new DefinitionError(`${info.name}: implement() options must be an object`);
    this.impl = impl as Record<string, AnyFn>;
    for (const m of info.methods) {
      if (typeof this.impl[m.name] !== 'function') throw new DefinitionError(`${info.name}: no implementation for method ${m.name}`);
      this.methods.set(m.name, m);
    }
    for (const p of info.properties) this.props.set(p.name, p);
    for (const [name, v] of Object.entries(options.properties ?? {})) {
      const p = this.props.get(name);
      if (!p) throw new DefinitionError(`${info.name}: '${name}' is not a property of this interface`);
      if (v instanceof PropertyAccessor) this.accessors.set(name, v as PropertyAccessor<unknown>);
      else this.values.set(name, this.check(p, v));
    }
  }

  /** Current value of a property (as the service sees it). */
  getProperty<P extends PropertyName<S>>(name: P): PropertyType<S, P> {
    const p = this.prop(name);
    const acc = this.accessors.get(p.name);
    return (acc ? acc.get() : this.values.get(p.name)) as PropertyType<S, P>;
  }

  /**
   * Change a property from the service side: validated against its type,
   * stored (or handed to the accessor's set), and announced with
   * PropertiesChanged as its EmitsChangedSignal annotation says.
   */
  setProperty<P extends PropertyName<S>>(name: P, value: PropertyType<S, P>): void {
    const p = this.prop(name);
    const v = this.check(p, value);
    const acc = this.accessors.get(p.name);
    if (acc) {
      if (!acc.set) throw new DBusError(ErrorNames.PropertyReadOnly, `property ${this.name}.${p.name} has no setter`);
      acc.set(v);
    } else {
      this.values.set(p.name, v);
    }
    this.propertiesChanged(name);
  }

  /** Announce that computed properties changed (their getters are re-read). */
  propertiesChanged(...names: PropertyName<S>[]): void {
    for (const n of names) {
      const p = this.prop(n);
      if (emitsChanged(p, this.info) === 'true' || emitsChanged(p, this.info) === 'invalidates') this.pendingChanged.add(p.name);
    }
    if (this.pendingChanged.size && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushChanged());
    }
  }

  /** Emit one of this interface's signals on every path it is exported at. */
  emitSignal<N extends SignalName<S>>(name: N, ...args: SignalArgs<S, N>): void {
    const sig = this.info.signals.find((s) => s.name === name);
    if (!sig) throw new DefinitionError(`${this.name}: no signal named ${String(name)}`);
    const signature = sig.args.map((a) => a.type).join('');
    const fds: number[] = [];
    const body = prepareOutgoing(signature, args as unknown[], fds, sig.args.map((a) => a.name ?? ''));
    if (fds.length) throw new ArgumentError(`signal ${name}`, 'signals are broadcast and cannot carry unix fds');
    for (const b of this.bindings) b.conn.emitSignal(b.path, this.name, name, signature, body);
  }

  // ---------------------------------------------------- used by the registry

  /** @internal */
  bind(conn: BusConnection, path: string): void {
    if (!this.bindings.some((b) => b.conn === conn && b.path === path)) this.bindings.push({ conn, path });
  }

  /** @internal */
  unbind(conn: BusConnection, path: string): void {
    const i = this.bindings.findIndex((b) => b.conn === conn && b.path === path);
    if (i >= 0) this.bindings.splice(i, 1);
  }

  /** @internal */
  method(name: string): MethodInfo | undefined {
    return this.methods.get(name);
  }

  /** @internal Run a method implementation with `this` = the implementation object. */
  invoke(name: string, args: unknown[]): unknown {
    return this.impl[name]!.apply(this.impl, args);
  }

  /** @internal Read for Get/GetAll: a Variant, or a DBusError for the caller. */
  readForBus(name: string): Variant {
    const p = this.props.get(name);
    if (!p) throw new DBusError(ErrorNames.UnknownProperty, `no property ${name} on interface ${this.name}`);
    if (p.access === 'write') throw new DBusError(ErrorNames.AccessDenied, `property ${this.name}.${name} is write-only`);
    const acc = this.accessors.get(name);
    const v = acc ? acc.get() : this.values.get(name);
    if (v === undefined) throw new DBusError(ErrorNames.Failed, `property ${this.name}.${name} has no value yet`);
    return new Variant(p.type, prepareOutgoingValue(p.type, v, [], `property ${name}`));
  }

  /** @internal Set from a remote caller: checks access and the variant's type. */
  writeFromBus(name: string, value: unknown, ctx: CallContext): void {
    const p = this.props.get(name);
    if (!p) throw new DBusError(ErrorNames.UnknownProperty, `no property ${name} on interface ${this.name}`);
    if (p.access === 'read') throw new DBusError(ErrorNames.PropertyReadOnly, `property ${this.name}.${name} is read-only`);
    if (!(value instanceof Variant) || value.signature !== p.type) {
      const got = value instanceof Variant ? value.signature : typeof value;
      throw new DBusError(ErrorNames.InvalidArgs, `property ${this.name}.${name} has type '${p.type}', got '${got}'`);
    }
    const acc = this.accessors.get(name);
    if (acc) {
      if (!acc.set) throw new DBusError(ErrorNames.PropertyReadOnly, `property ${this.name}.${name} has no setter`);
      acc.set(value.value, ctx);
    } else {
      this.values.set(name, value.value);
    }
    this.propertiesChanged(name as PropertyName<S>);
  }

  /** @internal All readable properties with a value, for GetAll. */
  readAllForBus(): Record<string, Variant> {
    const out: Record<string, Variant> = {};
    for (const p of this.info.properties) {
      if (p.access === 'write') continue;
      const acc = this.accessors.get(p.name);
      if ((acc ? acc.get() : this.values.get(p.name)) === undefined) continue;
      out[p.name] = this.readForBus(p.name);
    }
    return out;
  }

  // ---------------------------------------------------------------- private

  private prop(name: string): PropertyInfo {
    const p = this.props.get(name);
    if (!p) throw new DefinitionError(`${this.name}: no property named ${name}`);
    return p;
  }

  // Values are stored normalised (e.g. x/t as bigint), so Get returns what
  // the type says even when the service set a plain number.
  private check(p: PropertyInfo, v: unknown): unknown {
    return prepareOutgoingValue(p.type, v, [], `property ${this.name}.${p.name}`);
  }

  private flushChanged(): void {
    this.flushQueued = false;
    const names = [...this.pendingChanged];
    this.pendingChanged.clear();
    if (!this.bindings.length) return;
    const changed: Record<string, Variant> = {};
    const invalidated: string[] = [];
    for (const n of names) {
      const p = this.props.get(n)!;
      if (emitsChanged(p, this.info) === 'invalidates' || p.access === 'write') {
        invalidated.push(n);
        continue;
      }
      try {
        changed[n] = this.readForBus(n);
      } catch {
        invalidated.push(n);
      }
    }
    for (const b of this.bindings) b.conn.emitSignal(b.path, PROPERTIES_INTERFACE, 'PropertiesChanged', 'sa{sv}as', [this.name, changed, invalidated]);
  }
}
