// D-Bus signatures on the command line: the wire layer's parser, with its errors turned into usage errors.
import { WireError, parseSignature as parseWireSignature, type SignatureNode } from '../wire/index.js';
import { UsageError } from './errors.js';

/** Parse a whole signature into its complete types; throws UsageError when malformed (exit 2). */
export function parseSignature(sig: string): SignatureNode[] {
  try {
    return parseWireSignature(sig);
  } catch (e) {
    if (e instanceof WireError) throw new UsageError(e.message);
    throw e;
  }
}
