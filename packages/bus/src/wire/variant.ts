// Variant: a value tagged with its own D-Bus signature (type 'v'), shaped as dbus-next's.

/**
 * A D-Bus variant: `signature` is one complete type, `value` the JS value for
 * it. Same field names as dbus-next's Variant so code moves between the two.
 */
export class Variant<T = unknown> {
  signature: string;
  value: T;

  constructor(signature: string, value: T) {
    this.signature = signature;
    this.value = value;
  }
}
