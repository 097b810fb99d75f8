// WireError: the one error type the wire layer throws, naming the rule broken and where.

/**
 * Every rejection by the wire layer (bad input bytes, or a value that cannot
 * be marshalled) is a WireError. `rule` is a short stable code that callers
 * and tests can switch on; `offset` is the byte offset in the input (decode)
 * or output (encode) where the problem was found, or -1 when no byte offset
 * applies (e.g. a bad name given to the encoder).
 */
export class WireError extends Error {
  readonly rule: string;
  readonly offset: number;

  constructor(rule: string, message: string, offset = -1) {
    super(offset >= 0 ? `${message} (rule ${rule}, at byte ${offset})` : `${message} (rule ${rule})`);
    this.name = 'WireError';
    this.rule = rule;
    this.offset = offset;
  }
}
