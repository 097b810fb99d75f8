// Interface definitions: declare an interface once, as a plain typed object,
// and get its introspection data, a typed implementation and a typed proxy.
import type { Variant } from '../wire/variant.js';
import type { Message } from '../wire/message.js';
import type { InterfaceInfo, ArgInfo, Annotation, PropertyAccess } from './introspection.js';
import type { SignatureTypes, ValueType } from './signature-types.js';
import { parseSignature } from '../wire/signature.js';
import { WireError } from '../wire/errors.js';
import { isValidInterfaceName as isInterfaceName, isValidMemberName as isMemberName } from '../wire/names.js';

/** A named argument: `['appName', 's']`. */
export type ArgDef = readonly [name: string, type: string];
/** Arguments: a signature string (unnamed) or a list of named arguments. */
export type ArgSpec = string | readonly ArgDef[];

export interface MethodSpec {
  readonly in?: ArgSpec;
  readonly out?: ArgSpec;
  /** Advertise org.freedesktop.DBus.Method.NoReply (callers need not wait). */
  readonly noReply?: boolean;
  readonly deprecated?: boolean;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface PropertySpec {
  readonly type: string;
  /** Default 'read'. */
  readonly access?: PropertyAccess;
  /**
   * org.freedesktop.DBus.Property.EmitsChangedSignal: true (default) sends
   * the new value, 'invalidates' only the name, false/'const' nothing.
   */
  readonly emitsChanged?: boolean | 'invalidates' | 'const';
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface InterfaceSpec {
  readonly methods?: Readonly<Record<string, MethodSpec>>;
  /** Signal name -> its arguments. */
  readonly signals?: Readonly<Record<string, ArgSpec>>;
  readonly properties?: Readonly<Record<string, PropertySpec>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

// ------------------------------------------------------------ derived types

/** The tuple of JS types an ArgSpec carries. */
export type ArgTypes<A> = A extends string
  ? SignatureTypes<A>
  : A extends readonly ArgDef[]
    ? { -readonly [K in keyof A]: A[K] extends readonly [string, infer T extends string] ? ValueType<T> : never }
    : [];

/** What a method returns: nothing, its one out value, or a tuple of several. */
export type ResultOf<A> = ArgTypes<A> extends infer T extends unknown[]
  ? unknown[] extends T
    ? unknown
    : T extends []
      ? void
      : T extends [infer One]
        ? One
        : T
  : never;

type MethodsOf<S extends InterfaceSpec> = S['methods'] extends Readonly<Record<string, MethodSpec>> ? S['methods'] : {};
type SignalsOf<S extends InterfaceSpec> = S['signals'] extends Readonly<Record<string, ArgSpec>> ? S['signals'] : {};
type PropsOf<S extends InterfaceSpec> = S['properties'] extends Readonly<Record<string, PropertySpec>> ? S['properties'] : {};

export type MethodName<S extends InterfaceSpec> = keyof MethodsOf<S> & string;
export type SignalName<S extends InterfaceSpec> = keyof SignalsOf<S> & string;
export type PropertyName<S extends InterfaceSpec> = keyof PropsOf<S> & string;

type MethodIn<S extends InterfaceSpec, M extends MethodName<S>> = MethodsOf<S>[M] extends { readonly in: infer A } ? A : undefined;
type MethodOut<S extends InterfaceSpec, M extends MethodName<S>> = MethodsOf<S>[M] extends { readonly out: infer A } ? A : undefined;
type PropSig<S extends InterfaceSpec, P extends PropertyName<S>> = PropsOf<S>[P] extends { readonly type: infer T extends string } ? T : string;
type Access<S extends InterfaceSpec, P extends PropertyName<S>> = PropsOf<S>[P] extends { readonly access: infer A extends PropertyAccess } ? A : 'read';

export type MethodArgs<S extends InterfaceSpec, M extends MethodName<S>> = ArgTypes<MethodIn<S, M>>;
export type MethodResult<S extends InterfaceSpec, M extends MethodName<S>> = ResultOf<MethodOut<S, M>>;
export type SignalArgs<S extends InterfaceSpec, N extends SignalName<S>> = ArgTypes<SignalsOf<S>[N]>;
export type PropertyType<S extends InterfaceSpec, P extends PropertyName<S>> = ValueType<PropSig<S, P>>;

export type ReadablePropertyName<S extends InterfaceSpec> = { [P in PropertyName<S>]: Access<S, P> extends 'write' ? never : P }[PropertyName<S>];
export type WritablePropertyName<S extends InterfaceSpec> = { [P in PropertyName<S>]: Access<S, P> extends 'read' ? never : P }[PropertyName<S>];

/** All property values, as GetAll returns them unwrapped. */
export type PropertyValues<S extends InterfaceSpec> = { [P in PropertyName<S>]: PropertyType<S, P> };

/** Who called, handed to every method implementation as its last argument. */
export interface CallContext {
  /** Unique name of the caller. */
  sender: string;
  /** Credentials of the caller, when the bus knows them. */
  credentials?: { pid: number; uid: number; gid: number };
  /** Object path the call was addressed to (one impl may serve many). */
  path: string;
  /** The raw call message. */
  message: Message;
}

type ImplFn<In, Out> = (...args: [...ArgTypes<In>, CallContext]) => ResultOf<Out> | Promise<ResultOf<Out>>;

/**
 * Method implementations: each gets the typed in-arguments, then a
 * CallContext, and returns the out value(s) or a promise of them.
 */
export type Implementation<S extends InterfaceSpec> = {
  [M in MethodName<S>]: ImplFn<MethodIn<S, M>, MethodOut<S, M>>;
};

// ------------------------------------------------------------ normalising

/** Thrown when a definition is malformed (bad names or signatures). */
export class DefinitionError extends Error {
  override name = 'DefinitionError';
}

function annotationList(a: Readonly<Record<string, string>> | undefined, extra: Annotation[] = []): Annotation[] {
  return [...extra, ...Object.entries(a ?? {}).map(([name, value]) => ({ name, value }))];
}

/** Turn an ArgSpec into introspection args, validating every signature. */
export function argInfos(spec: ArgSpec | undefined, where: string): ArgInfo[] {
  if (spec === undefined) return [];
  try {
    if (typeof spec === 'string') return parseSignature(spec).map((n) => ({ type: n.signature }));
    if (!Array.isArray(spec)) throw new DefinitionError(`${where}: arguments must be a signature string or [name, type] pairs`);
    return spec.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        throw new DefinitionError(`${where}: argument ${i} must be a [name, type] pair`);
      }
      const types = parseSignature(pair[1]);
      if (types.length !== 1) throw new DefinitionError(`${where}: argument '${pair[0]}' type '${pair[1]}' must be one complete type`);
      return { name: pair[0], type: pair[1] };
    });
  } catch (e) {
    if (e instanceof WireError) throw new DefinitionError(`${where}: ${e.message}`);
    throw e;
  }
}

/** Introspection data for a spec; validates names and signatures. */
export function specToInfo(name: string, spec: InterfaceSpec): InterfaceInfo {
  if (!isInterfaceName(name)) throw new DefinitionError(`'${name}' is not a valid interface name`);
  if (spec === null || typeof spec !== 'object') throw new DefinitionError(`${name}: the spec must be an object`);
  const checkMember = (m: string, what: string): void => {
    if (!isMemberName(m)) throw new DefinitionError(`${name}: '${m}' is not a valid ${what} name`);
  };
  const info: InterfaceInfo = { name, methods: [], signals: [], properties: [], annotations: annotationList(spec.annotations) };
  const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);
  for (const [what, v] of [['methods', spec.methods], ['signals', spec.signals], ['properties', spec.properties]] as const) {
    if (v !== undefined && !isObject(v)) throw new DefinitionError(`${name}: '${what}' must be an object`);
  }
  for (const [m, ms] of Object.entries(spec.methods ?? {})) {
    checkMember(m, 'method');
    if (!isObject(ms)) throw new DefinitionError(`${name}.${m}: a method spec must be an object ({ in?, out? })`);
    const extra: Annotation[] = [];
    if (ms.noReply) extra.push({ name: 'org.freedesktop.DBus.Method.NoReply', value: 'true' });
    if (ms.deprecated) extra.push({ name: 'org.freedesktop.DBus.Deprecated', value: 'true' });
    info.methods.push({ name: m, inArgs: argInfos(ms.in, `${name}.${m} in`), outArgs: argInfos(ms.out, `${name}.${m} out`), annotations: annotationList(ms.annotations, extra) });
  }
  for (const [s, args] of Object.entries(spec.signals ?? {})) {
    checkMember(s, 'signal');
    info.signals.push({ name: s, args: argInfos(args, `${name}.${s}`), annotations: [] });
  }
  for (const [p, ps] of Object.entries(spec.properties ?? {})) {
    checkMember(p, 'property');
    if (!isObject(ps)) throw new DefinitionError(`${name}.${p}: a property spec must be an object ({ type, access? })`);
    const t = argInfos(typeof ps.type === 'string' ? ps.type : ' ', `${name}.${p}`);
    if (t.length !== 1) throw new DefinitionError(`${name}.${p}: property type must be one complete type`);
    const access = ps.access ?? 'read';
    if (access !== 'read' && access !== 'write' && access !== 'readwrite') throw new DefinitionError(`${name}.${p}: bad access '${String(access)}'`);
    const extra: Annotation[] = [];
    if (ps.emitsChanged !== undefined && ps.emitsChanged !== true) {
      extra.push({ name: 'org.freedesktop.DBus.Property.EmitsChangedSignal', value: ps.emitsChanged === false ? 'false' : ps.emitsChanged });
    }
    info.properties.push({ name: p, type: ps.type, access, annotations: annotationList(ps.annotations, extra) });
  }
  return info;
}

/** How a property announces changes, from its annotation (spec default: true). */
export function emitsChanged(p: { annotations: Annotation[] }, iface?: InterfaceInfo): 'true' | 'invalidates' | 'false' | 'const' {
  const own = p.annotations.find((a) => a.name === 'org.freedesktop.DBus.Property.EmitsChangedSignal');
  const inherited = iface?.annotations.find((a) => a.name === 'org.freedesktop.DBus.Property.EmitsChangedSignal');
  const v = (own ?? inherited)?.value;
  return v === 'invalidates' || v === 'false' || v === 'const' ? v : 'true';
}

export type { Variant };
