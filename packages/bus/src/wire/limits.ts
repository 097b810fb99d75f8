// Limits fixed by the D-Bus specification, in one place.

/** Longest signature, in bytes (spec: "Valid Signatures"). */
export const MAX_SIGNATURE_LENGTH = 255;
/** Arrays nested in one signature. */
export const MAX_ARRAY_DEPTH = 32;
/** Structs nested in one signature. */
export const MAX_STRUCT_DEPTH = 32;
/** Containers around any value, across variants (what libdbus and GLib enforce). */
export const MAX_TOTAL_DEPTH = 64;
/** Largest array payload: 2^26 bytes. */
export const MAX_ARRAY_LENGTH = 64 * 1024 * 1024;
/** Largest whole message: 2^27 bytes. */
export const MAX_MESSAGE_LENGTH = 128 * 1024 * 1024;
/** Longest bus, interface, member and error name. */
export const MAX_NAME_LENGTH = 255;
/** Protocol version in the fixed header. */
export const PROTOCOL_VERSION = 1;
/** Endianness bytes: 'l' and 'B'. */
export const LITTLE_ENDIAN_BYTE = 0x6c;
export const BIG_ENDIAN_BYTE = 0x42;
/** Value ranges of the integer types that fit a JS number, by type code. */
export const INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  y: [0, 0xff],
  n: [-0x8000, 0x7fff],
  q: [0, 0xffff],
  i: [-0x80000000, 0x7fffffff],
  u: [0, 0xffffffff],
};
/** Value ranges of the 64-bit integer types, by type code. */
export const INT64_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  x: [-(1n << 63n), (1n << 63n) - 1n],
  t: [0n, (1n << 64n) - 1n],
};
