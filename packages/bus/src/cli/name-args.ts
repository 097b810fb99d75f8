// Command-line validation of D-Bus names and paths: a bad one is a usage error (exit 2), caught before connecting.
import {
  isValidBusName, isValidInterfaceName, isValidMemberName, isValidObjectPath,
} from '../wire/index.js';
import { UsageError } from './errors.js';

/** A checker for one kind of name: returns the argument, or throws a UsageError of `verb` naming the kind. */
function checker(valid: (s: string) => boolean, kind: string): (verb: string, s: string) => string {
  return (verb, s) => {
    if (!valid(s)) throw new UsageError(`'${s}' is not a valid ${kind}`, verb);
    return s;
  };
}

export const checkBusName = checker(isValidBusName, 'bus name');
export const checkPath = checker(isValidObjectPath, 'object path');
export const checkInterface = checker(isValidInterfaceName, 'interface name');
export const checkMember = checker(isValidMemberName, 'member name');
