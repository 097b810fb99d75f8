// The high-level API: interfaces defined once and typed, exported objects,
// proxies, the standard interfaces, pub/sub and codegen.
export { MessageBus } from './message-bus.js';
export { defineInterface, InterfaceDefinition, interfacesFromXml, specFromInfo } from './define-interface.js';
export { ServiceInterface, PropertyAccessor, accessor } from './service-interface.js';
export type { ImplementOptions, PropertyInit } from './service-interface.js';
export { ProxyInterface, PROPERTIES_CHANGED } from './proxy-interface.js';
export type { TypedProxy, TypedProxyBase, ProxyMethods, ProxyHost } from './proxy-interface.js';
export { ProxyObject } from './proxy-object.js';
export { DefinitionError } from './definition.js';
export type {
  ArgDef, ArgSpec, MethodSpec, PropertySpec, InterfaceSpec, CallContext, Implementation, ArgTypes, ResultOf,
  MethodName, SignalName, PropertyName, MethodArgs, MethodResult, SignalArgs, PropertyType, PropertyValues,
  ReadablePropertyName, WritablePropertyName,
} from './definition.js';
export type { SignatureTypes, ValueType, BasicTypes } from './signature-types.js';
export { ArgumentError, prepareOutgoing, mapIncomingFds } from './values.js';
export { parseIntrospection, nodeToXml, interfaceToXml, IntrospectionError } from './introspection.js';
export type { NodeInfo, InterfaceInfo, MethodInfo, SignalInfo, PropertyInfo, ArgInfo, Annotation, PropertyAccess } from './introspection.js';
export { generateTypeScript } from './codegen.js';
export type { CodegenOptions } from './codegen.js';
export { SignalRouter, matchRuleFor } from './signal-router.js';
export type { SignalFilter, SignalHandler } from './signal-router.js';
export type { MethodHandler } from './object-registry.js';
export type { BusConnection, IncomingCall as ApiIncomingCall, CallOptions } from './core-connection.js';
export { topicToPath, pathToTopic, topicPatternToFilter, TopicError, PUBSUB_ROOT, PUBSUB_INTERFACE, PUBSUB_MEMBER } from './topic.js';
export { packValue, unpackValue } from './pubsub.js';
export type { PublishInfo, TopicHandler, SubscribeOptions, Subscription } from './pubsub.js';
export { PEER, INTROSPECTABLE, PROPERTIES, OBJECT_MANAGER, STANDARD_INTERFACES } from './standard-interfaces.js';
export { connect, sessionBus } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { FreedesktopDBus, BUS_DRIVER_NAME, BUS_DRIVER_PATH } from './bus-driver-interface.js';
