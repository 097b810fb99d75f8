// MessageBus: the high-level handle on one bus connection, shaped like
// dbus-next's (name, requestName, export, getProxyObject) plus pub/sub.
import { EventEmitter } from 'node:events';
import { INTROSPECTABLE_INTERFACE } from '../core/constants.js';
import { DBusError, ErrorNames } from '../core/errors.js';
import type { BusConnection, CallOptions } from './core-connection.js';
import type { Message } from '../wire/message.js';
import { ObjectRegistry, type MethodHandler } from './object-registry.js';
import { SignalRouter } from './signal-router.js';
import { PubSub, type SubscribeOptions, type Subscription, type TopicHandler } from './pubsub.js';
import type { ServiceInterface } from './service-interface.js';
import { ProxyObject } from './proxy-object.js';
import type { InterfaceSpec } from './definition.js';
import type { InterfaceDefinition } from './define-interface.js';
import type { TypedProxy } from './proxy-interface.js';
import { parseIntrospection, IntrospectionError } from './introspection.js';
import { isValidBusName, isValidObjectPath } from '../wire/names.js';
import { FreedesktopDBus, BUS_DRIVER_NAME, BUS_DRIVER_PATH } from './bus-driver-interface.js';

export class MessageBus extends EventEmitter {
  /** Signal subscriptions (match rules) of this bus; used by proxies. */
  readonly signals: SignalRouter;
  private readonly registry: ObjectRegistry;
  private readonly pubsub: PubSub;
  private closed = false;

  /** Wrap a core Connection (see connect() for the usual way in). */
  constructor(readonly connection: BusConnection) {
    super();
    this.signals = new SignalRouter(connection);
    this.registry = new ObjectRegistry(connection);
    this.pubsub = new PubSub(connection, this.signals);
    connection.on('methodCall', (call) => void this.registry.dispatch(call));
    connection.on('disconnect', () => {
      this.closed = true;
      this.emit('disconnect');
    });
  }

  /** This connection's unique name (':<generation>.<member id>'). */
  get name(): string {
    return this.connection.uniqueName;
  }

  /** RequestName; resolves to the spec's reply code (1 = primary owner). */
  requestName(name: string, flags = 0): Promise<number> {
    return this.connection.requestName(name, flags);
  }

  releaseName(name: string): Promise<number> {
    return this.connection.releaseName(name);
  }

  /**
   * Low-level call, as dbus-next's bus.call(): resolves to the reply message
   * (fds mapped through `opts.fds`/the result are on bus.connection.call).
   * Rejects with DBusError for ERROR replies, NoReply, ServiceUnknown.
   */
  async call(msg: Partial<Message> & { destination: string; path: string; member: string }, opts?: CallOptions): Promise<Message> {
    return (await this.connection.call(msg, opts)).reply;
  }

  /** Low-level send, as dbus-next's bus.send(); returns the serial. */
  send(msg: Partial<Message> & Pick<Message, 'type'>, fds?: number[]): number {
    return this.connection.send(msg, fds);
  }

  // ServiceInterface<S> is invariant in S (S appears in parameter types), so
  // the registry takes any definition's service.
  /** Serve `iface` at `path` (replaces an interface of the same name there). */
  export(path: string, iface: ServiceInterface<any>): void {
    this.registry.export(path, iface as ServiceInterface);
  }

  /** Stop serving one interface at `path`, or all of them. */
  unexport(path: string, iface?: ServiceInterface<any> | string): void {
    this.registry.unexport(path, iface as ServiceInterface | string | undefined);
  }

  /** Answer org.freedesktop.DBus.ObjectManager at `path` for the objects below it. */
  enableObjectManager(path: string): void {
    this.registry.enableObjectManager(path);
  }

  disableObjectManager(path: string): void {
    this.registry.disableObjectManager(path);
  }

  /** Handlers run before object dispatch; one that returns true has replied. */
  addMethodHandler(handler: MethodHandler): void {
    this.registry.handlers.push(handler);
  }

  removeMethodHandler(handler: MethodHandler): void {
    const i = this.registry.handlers.indexOf(handler);
    if (i >= 0) this.registry.handlers.splice(i, 1);
  }

  /** The introspection XML this bus serves at `path` (what a peer's Introspect gets). */
  introspect(path: string): string {
    return this.registry.introspect(path);
  }

  /**
   * A dynamic proxy for the object at `path` on `name`, built from its
   * introspection (fetched with Introspect unless `xml` is given).
   */
  async getProxyObject(name: string, path: string, xml?: string): Promise<ProxyObject> {
    if (!isValidBusName(name)) throw new DBusError(ErrorNames.InvalidArgs, `'${name}' is not a valid bus name`);
    if (!isValidObjectPath(path)) throw new DBusError(ErrorNames.InvalidArgs, `'${path}' is not a valid object path`);
    if (xml === undefined) {
      const { reply } = await this.connection.call({
        destination: name, path, interface: INTROSPECTABLE_INTERFACE, member: 'Introspect', signature: '', body: [],
      });
      xml = reply.body?.[0] as string;
    }
    try {
      return new ProxyObject(this, name, path, parseIntrospection(xml));
    } catch (e) {
      if (e instanceof IntrospectionError) throw new DBusError(ErrorNames.InvalidArgs, `introspection data of ${name} ${path}: ${e.message}`);
      throw e;
    }
  }

  /** A typed proxy from a definition: `bus.proxy(Calc, 'com.example', '/calc')`. */
  proxy<S extends InterfaceSpec>(def: InterfaceDefinition<S>, name: string, path: string): TypedProxy<S> {
    return def.proxy(this, name, path);
  }

  /**
   * A typed proxy of org.freedesktop.DBus (answered inside this connection):
   * `bus.driver().on('NameOwnerChanged', (name, oldOwner, newOwner) => ...)`.
   */
  driver(): TypedProxy<typeof FreedesktopDBus.spec> {
    return FreedesktopDBus.proxy(this, BUS_DRIVER_NAME, BUS_DRIVER_PATH);
  }

  /** Broadcast a plain JS value on a topic (msgpackr-encoded D-Bus signal). */
  publish(topic: string, value: unknown): void {
    this.pubsub.publish(topic, value);
  }

  /**
   * Receive values published on a topic ('a.b'), a prefix ('a.*') or all
   * ('*'). Returns the function that unsubscribes; its `synced()` resolves
   * once every current member follows the subscription.
   */
  subscribe<T = unknown>(topic: string, handler: TopicHandler<T>, opts?: SubscribeOptions): Subscription {
    return this.pubsub.subscribe(topic, handler, opts);
  }

  /** Leave the bus: exported objects and subscriptions go with it. */
  disconnect(): void {
    if (this.closed) return;
    this.closed = true;
    this.registry.unbindAll();
    this.signals.close();
    this.connection.disconnect();
  }
}
