// Client side of one remote interface: methods become async functions,
// signals become events (match rules follow the listeners), properties are
// read and written through org.freedesktop.DBus.Properties.
import { EventEmitter } from 'node:events';
import { Variant } from '../wire/variant.js';
import { MessageFlags, MessageType, type Message } from '../wire/message.js';
import { DEFAULT_CALL_TIMEOUT_MS, PEER_INTERFACE } from '../core/constants.js';
import { DBusError, ErrorNames } from '../core/errors.js';
import { isValidBusName, isValidObjectPath } from '../wire/names.js';
import type { InterfaceInfo, MethodInfo, PropertyInfo } from './introspection.js';
import { mapIncomingFds, mapIncomingValueFds, prepareOutgoing, prepareOutgoingValue } from './values.js';
import type { SignalRouter } from './signal-router.js';
import type { BusConnection } from './core-connection.js';
import { PROPERTIES_INTERFACE } from './service-interface.js';
import type {
  InterfaceSpec, MethodArgs, MethodName, MethodResult, PropertyName, PropertyType, PropertyValues,
  ReadablePropertyName, SignalArgs, SignalName, WritablePropertyName,
} from './definition.js';

/** What a proxy needs from its bus. */
export interface ProxyHost {
  readonly connection: BusConnection;
  readonly signals: SignalRouter;
}

/** The event a proxy emits for PropertiesChanged of its own interface. */
export const PROPERTIES_CHANGED = 'PropertiesChanged';

export class ProxyInterface extends EventEmitter {
  /** Per-call timeout for this proxy's method calls (ms). */
  timeoutMs = DEFAULT_CALL_TIMEOUT_MS;
  readonly $name: string;
  readonly $info: InterfaceInfo;
  private readonly methodInfo = new Map<string, MethodInfo>();
  private readonly propInfo = new Map<string, PropertyInfo>();
  private readonly signalNames = new Set<string>();
  private readonly unsubscribe = new Map<string, () => void>();

  constructor(
    readonly $host: ProxyHost,
    readonly $destination: string,
    readonly $path: string,
    info: InterfaceInfo,
  ) {
    super();
    if (!isValidBusName($destination)) throw new DBusError(ErrorNames.InvalidArgs, `'${String($destination)}' is not a valid bus name`);
    if (!isValidObjectPath($path)) throw new DBusError(ErrorNames.InvalidArgs, `'${String($path)}' is not a valid object path`);
    this.$name = info.name;
    this.$info = info;
    for (const m of info.methods) {
      this.methodInfo.set(m.name, m);
      // Methods become own properties (as in dbus-next), unless the name
      // would shadow this class's own API; call() always reaches them.
      if (!(m.name in this)) {
        Object.defineProperty(this, m.name, { value: (...args: unknown[]) => this.call(m.name, ...args), enumerable: true });
      }
    }
    for (const p of info.properties) this.propInfo.set(p.name, p);
    for (const s of info.signals) this.signalNames.add(s.name);
    this.on('newListener', (event: string | symbol) => this.listenerAdded(event));
    this.on('removeListener', (event: string | symbol) => this.listenerRemoved(event));
  }

  /** Call a method by name: resolves to undefined, its one out value, or an array of them. */
  async call(method: string, ...args: unknown[]): Promise<unknown> {
    const m = this.methodInfo.get(method);
    if (!m) throw new DBusError(ErrorNames.UnknownMethod, `interface ${this.$name} has no method ${method}`);
    const signature = m.inArgs.map((a) => a.type).join('');
    const fds: number[] = [];
    const body = prepareOutgoing(signature, args, fds, m.inArgs.map((a) => a.name ?? ''));
    const noReply = m.annotations.some((a) => a.name === 'org.freedesktop.DBus.Method.NoReply' && a.value === 'true');
    const conn = this.$host.connection;
    const req = { destination: this.$destination, path: this.$path, interface: this.$name, member: method, signature, body };
    if (noReply) {
      conn.send({ type: MessageType.METHOD_CALL, flags: MessageFlags.NO_REPLY_EXPECTED, ...req }, fds);
      return undefined;
    }
    const { reply, fds: replyFds } = await conn.call(req, { timeoutMs: this.timeoutMs, fds });
    // The declared types are only a promise if the reply keeps them: a peer
    // answering with another signature is an error, not a mistyped value.
    const expected = m.outArgs.map((a) => a.type).join('');
    if ((reply.signature ?? '') !== expected) {
      throw new DBusError(ErrorNames.InvalidSignature, `${this.$name}.${method} replied '${reply.signature ?? ''}', declared '${expected}'`, { reply });
    }
    const values = mapIncomingFds(reply.signature ?? '', reply.body ?? [], replyFds);
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  }

  /** Read a property (the variant is unwrapped). */
  async getProperty(name: string): Promise<unknown> {
    const { reply, fds } = await this.$host.connection.call(
      { destination: this.$destination, path: this.$path, interface: PROPERTIES_INTERFACE, member: 'Get', signature: 'ss', body: [this.$name, name] },
      { timeoutMs: this.timeoutMs },
    );
    const v = reply.body?.[0];
    if (!(v instanceof Variant)) throw new DBusError(ErrorNames.InvalidSignature, `Get(${this.$name}.${name}) did not return a variant`);
    const declared = this.propInfo.get(name)?.type;
    if (declared !== undefined && v.signature !== declared) {
      throw new DBusError(ErrorNames.InvalidSignature, `property ${this.$name}.${name} came as '${v.signature}', declared '${declared}'`, { reply });
    }
    return mapIncomingValueFds(v.signature, v.value, fds);
  }

  /** Write a property; the value is wrapped in a Variant of the declared type. */
  async setProperty(name: string, value: unknown): Promise<void> {
    const p = this.propInfo.get(name);
    let variant: Variant;
    if (p) variant = new Variant(p.type, prepareOutgoingValue(p.type, value, [], `property ${name}`));
    else if (value instanceof Variant) variant = value;
    else throw new DBusError(ErrorNames.UnknownProperty, `interface ${this.$name} has no property ${name} (pass a Variant to set it anyway)`);
    await this.$host.connection.call(
      { destination: this.$destination, path: this.$path, interface: PROPERTIES_INTERFACE, member: 'Set', signature: 'ssv', body: [this.$name, name, variant] },
      { timeoutMs: this.timeoutMs },
    );
  }

  /** Read every property (variants unwrapped). */
  async getAllProperties(): Promise<Record<string, unknown>> {
    const { reply } = await this.$host.connection.call(
      { destination: this.$destination, path: this.$path, interface: PROPERTIES_INTERFACE, member: 'GetAll', signature: 's', body: [this.$name] },
      { timeoutMs: this.timeoutMs },
    );
    const dict = reply.body?.[0];
    if (dict !== null && typeof dict === 'object') {
      for (const [k, v] of Object.entries(dict as Record<string, unknown>)) {
        const declared = this.propInfo.get(k)?.type;
        if (declared !== undefined && v instanceof Variant && v.signature !== declared) {
          throw new DBusError(ErrorNames.InvalidSignature, `property ${this.$name}.${k} came as '${v.signature}', declared '${declared}'`, { reply });
        }
      }
    }
    return unwrapAll(dict);
  }

  /**
   * Resolve once the destination follows every match rule added so far (a
   * Peer.Ping round trip): on the user backend rules reach senders one hop
   * later, so await this after adding listeners when the next signal matters.
   */
  async sync(): Promise<void> {
    await this.$host.connection.call(
      { destination: this.$destination, path: this.$path, interface: PEER_INTERFACE, member: 'Ping', signature: '', body: [] },
      { timeoutMs: this.timeoutMs },
    );
  }

  /** Drop every listener and match rule of this proxy. */
  close(): void {
    this.removeAllListeners();
    for (const u of this.unsubscribe.values()) u();
    this.unsubscribe.clear();
  }

  // ------------------------------------------------------- signal plumbing

  private isSignalEvent(event: string | symbol): event is string {
    return typeof event === 'string' && (this.signalNames.has(event) || event === PROPERTIES_CHANGED);
  }

  private listenerAdded(event: string | symbol): void {
    if (!this.isSignalEvent(event) || this.unsubscribe.has(event)) return;
    const sender = this.$destination;
    if (this.signalNames.has(event)) {
      this.unsubscribe.set(
        event,
        this.$host.signals.subscribe({ sender, path: this.$path, interface: this.$name, member: event }, (msg, fds) => this.deliver(msg, fds)),
      );
    } else {
      this.unsubscribe.set(
        event,
        this.$host.signals.subscribe(
          { sender, path: this.$path, interface: PROPERTIES_INTERFACE, member: 'PropertiesChanged', arg0: this.$name },
          (msg) => this.deliverPropertiesChanged(msg),
        ),
      );
    }
  }

  private listenerRemoved(event: string | symbol): void {
    if (!this.isSignalEvent(event) || this.listenerCount(event) > 0) return;
    this.unsubscribe.get(event)?.();
    this.unsubscribe.delete(event);
  }

  private deliver(msg: Message, fds: number[]): void {
    const sig = this.$info.signals.find((s) => s.name === msg.member);
    const expected = sig?.args.map((a) => a.type).join('');
    // A peer emitting a signal with another signature than advertised would
    // hand typed listeners wrong values: drop it.
    if (expected !== undefined && expected !== (msg.signature ?? '')) return;
    this.emit(msg.member!, ...mapIncomingFds(msg.signature ?? '', msg.body ?? [], fds));
  }

  private deliverPropertiesChanged(msg: Message): void {
    if (msg.signature !== 'sa{sv}as') return;
    const [, changed, invalidated] = msg.body as [string, Record<string, unknown>, string[]];
    this.emit(PROPERTIES_CHANGED, unwrapAll(changed), invalidated);
  }
}

function unwrapAll(dict: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (dict === null || typeof dict !== 'object') return out;
  for (const [k, v] of Object.entries(dict as Record<string, unknown>)) out[k] = v instanceof Variant ? v.value : v;
  return out;
}

// ------------------------------------------------------------- typed view

type Listener<A> = A extends readonly unknown[] ? (...args: A) => void : never;

/** The typed face of a ProxyInterface for a definition `S`. */
export interface TypedProxyBase<S extends InterfaceSpec> {
  readonly $name: string;
  readonly $destination: string;
  readonly $path: string;
  readonly $info: InterfaceInfo;
  timeoutMs: number;
  call<M extends MethodName<S>>(method: M, ...args: MethodArgs<S, M>): Promise<MethodResult<S, M>>;
  getProperty<P extends ReadablePropertyName<S>>(name: P): Promise<PropertyType<S, P>>;
  setProperty<P extends WritablePropertyName<S>>(name: P, value: PropertyType<S, P>): Promise<void>;
  getAllProperties(): Promise<Partial<PropertyValues<S>>>;
  on<N extends SignalName<S>>(signal: N, listener: Listener<SignalArgs<S, N>>): this;
  on(event: 'PropertiesChanged', listener: (changed: Partial<PropertyValues<S>>, invalidated: PropertyName<S>[]) => void): this;
  once<N extends SignalName<S>>(signal: N, listener: Listener<SignalArgs<S, N>>): this;
  once(event: 'PropertiesChanged', listener: (changed: Partial<PropertyValues<S>>, invalidated: PropertyName<S>[]) => void): this;
  off<N extends SignalName<S>>(signal: N, listener: Listener<SignalArgs<S, N>>): this;
  off(event: 'PropertiesChanged', listener: (changed: Partial<PropertyValues<S>>, invalidated: PropertyName<S>[]) => void): this;
  removeAllListeners(event?: SignalName<S> | 'PropertiesChanged'): this;
  sync(): Promise<void>;
  listenerCount(event: SignalName<S> | 'PropertiesChanged'): number;
  close(): void;
}

/** Methods as typed async functions. */
export type ProxyMethods<S extends InterfaceSpec> = {
  [M in MethodName<S>]: (...args: MethodArgs<S, M>) => Promise<MethodResult<S, M>>;
};

/** A proxy typed by its interface definition. */
export type TypedProxy<S extends InterfaceSpec> = ProxyMethods<S> & TypedProxyBase<S>;
