// Validation of object paths, interface, member, error and bus names (spec: "Valid Names").
import { WireError } from './errors.js';
import { MAX_NAME_LENGTH } from './limits.js';

// Regular expressions run natively and beat a JS loop per character.
const OBJECT_PATH = /^(?:\/|(?:\/[A-Za-z0-9_]+)+)$/;
const INTERFACE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const MEMBER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Unique names (':1.42') may have elements starting with a digit; well-known names may not.
const UNIQUE_NAME = /^:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/;
const WELL_KNOWN_NAME = /^[A-Za-z_-][A-Za-z0-9_-]*(?:\.[A-Za-z_-][A-Za-z0-9_-]*)+$/;

// Names repeat (every signal from a service carries the same path, interface
// and member), so names already found valid are remembered. Bounded: a peer
// inventing names costs a regex each, never memory.
const MEMO_LIMIT = 2048;

function memo(test: (s: string) => boolean): (s: unknown) => boolean {
  const ok = new Set<string>();
  return (s) => {
    if (typeof s !== 'string') return false;
    if (ok.has(s)) return true;
    if (!test(s)) return false;
    if (ok.size >= MEMO_LIMIT) ok.clear();
    ok.add(s);
    return true;
  };
}

const objectPathOk = memo((s) => OBJECT_PATH.test(s));
const interfaceOk = memo((s) => s.length <= MAX_NAME_LENGTH && INTERFACE.test(s));
const memberOk = memo((s) => s.length <= MAX_NAME_LENGTH && MEMBER.test(s));
const busNameOk = memo(
  (s) => s.length <= MAX_NAME_LENGTH && (s.charCodeAt(0) === 0x3a ? UNIQUE_NAME.test(s) : WELL_KNOWN_NAME.test(s)),
);

export function isValidObjectPath(s: unknown): boolean {
  return objectPathOk(s);
}

export function isValidInterfaceName(s: unknown): boolean {
  return interfaceOk(s);
}

/** Error names follow the interface-name rules. */
export function isValidErrorName(s: unknown): boolean {
  return isValidInterfaceName(s);
}

export function isValidMemberName(s: unknown): boolean {
  return memberOk(s);
}

export function isValidBusName(s: unknown): boolean {
  return busNameOk(s);
}

export function isValidUniqueName(s: unknown): boolean {
  return typeof s === 'string' && s.length <= MAX_NAME_LENGTH && UNIQUE_NAME.test(s);
}

function show(s: unknown): string {
  return typeof s === 'string' ? `'${s.length > 80 ? s.slice(0, 80) + '...' : s}'` : typeof s;
}

export function validateObjectPath(s: unknown, offset = -1): asserts s is string {
  if (!isValidObjectPath(s)) throw new WireError('bad-object-path', `invalid object path ${show(s)}`, offset);
}

export function validateInterfaceName(s: unknown, offset = -1): asserts s is string {
  if (!isValidInterfaceName(s)) throw new WireError('bad-name', `invalid interface name ${show(s)}`, offset);
}

export function validateErrorName(s: unknown, offset = -1): asserts s is string {
  if (!isValidErrorName(s)) throw new WireError('bad-name', `invalid error name ${show(s)}`, offset);
}

export function validateMemberName(s: unknown, offset = -1): asserts s is string {
  if (!isValidMemberName(s)) throw new WireError('bad-name', `invalid member name ${show(s)}`, offset);
}

export function validateBusName(s: unknown, offset = -1): asserts s is string {
  if (!isValidBusName(s)) throw new WireError('bad-name', `invalid bus name ${show(s)}`, offset);
}
