// Command-line validation of D-Bus names and paths: a bad one is a usage error (exit 2), caught before connecting.
import {
  isValidBusName, isValidInterfaceName, isValidMemberName, isValidObjectPath,
} from '../wire/index.js';
import { UsageError } from './errors.js';

export function checkBusName(verb: string, s: string): string {
  if (!isValidBusName(s)) throw new UsageError(`'${s}' is not a valid bus name`, verb);
  return s;
}

export function checkPath(verb: string, s: string): string {
  if (!isValidObjectPath(s)) throw new UsageError(`'${s}' is not a valid object path`, verb);
  return s;
}

export function checkInterface(verb: string, s: string): string {
  if (!isValidInterfaceName(s)) throw new UsageError(`'${s}' is not a valid interface name`, verb);
  return s;
}

export function checkMember(verb: string, s: string): string {
  if (!isValidMemberName(s)) throw new UsageError(`'${s}' is not a valid member name`, verb);
  return s;
}
