// Type-level D-Bus signatures: template-literal parsing that turns a
// signature string literal into the TypeScript types of its values.
import type { Variant } from '../wire/variant.js';

/** JS type of each basic type code (as the wire layer decodes them). */
export interface BasicTypes {
  y: number;
  b: boolean;
  n: number;
  q: number;
  i: number;
  u: number;
  x: bigint;
  t: bigint;
  d: number;
  s: string;
  o: string;
  g: string;
  /** A unix fd: the descriptor number itself at the API level. */
  h: number;
  v: Variant;
}

// Dict keys are object property names; integer keys stay typed as numbers
// (TS allows number index keys), 64-bit and other keys become strings.
type DictKey<K extends string> = K extends 'y' | 'n' | 'q' | 'i' | 'u' | 'd' | 'h' ? number : string;

/** Parse one complete type off the front: [type, rest] or never. */
// The `string extends S` guards stop the recursion when S is not a literal.
type ParseOne<S extends string> = string extends S
  ? [unknown, '']
  : S extends `${infer C}${infer R}`
  ? C extends keyof BasicTypes
    ? [BasicTypes[C], R]
    : C extends 'a'
      ? ParseArray<R>
      : C extends '('
        ? ParseStruct<R, []>
        : never
  : never;

type ParseArray<R extends string> = R extends `y${infer R2}`
  ? [Buffer, R2]
  : R extends `{${infer K}${infer R2}`
    ? K extends keyof BasicTypes
      ? ParseOne<R2> extends [infer V, infer R3 extends string]
        ? R3 extends `}${infer R4}`
          ? [Record<DictKey<K>, V>, R4]
          : never
        : never
      : never
    : ParseOne<R> extends [infer E, infer R2 extends string]
      ? [E[], R2]
      : never;

type ParseStruct<R extends string, Acc extends unknown[]> = R extends `)${infer R2}`
  ? [Acc, R2]
  : ParseOne<R> extends [infer T, infer R2 extends string]
    ? ParseStruct<R2, [...Acc, T]>
    : never;

type ParseAll<S extends string, Acc extends unknown[]> = string extends S
  ? unknown[]
  : S extends ''
  ? Acc
  : ParseOne<S> extends [infer T, infer R extends string]
    ? ParseAll<R, [...Acc, T]>
    : never;

/**
 * The tuple of JS types for a signature: `SignatureTypes<'sa{sv}i'>` is
 * `[string, Record<string, Variant>, number]`. A non-literal `string` (a
 * signature only known at run time) gives `unknown[]`, and a malformed
 * literal gives `never`, which surfaces as a compile error at use sites.
 */
export type SignatureTypes<S extends string> = string extends S ? unknown[] : ParseAll<S, []>;

/** The JS type of a single complete type: `ValueType<'a{sv}'>`. */
export type ValueType<S extends string> = string extends S
  ? unknown
  : ParseAll<S, []> extends [infer T]
    ? T
    : never;
