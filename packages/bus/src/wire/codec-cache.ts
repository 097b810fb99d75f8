// The compiled-codec cache shared by the encoder and the decoder: one compile per signature, bounded.
import { BoundedCache } from './bounded-cache.js';
import { checkTotalDepth, parseSignature, parseSingleType, type SignatureNode } from './signature.js';

/** One complete type with its compiled codec; `node.depth` bounds what a variant may add. */
export interface CompiledType<C> {
  readonly node: SignatureNode;
  readonly codec: C;
}

/** Compiles one complete type found `staticDepth` containers deep in its signature. */
export type Compile<C> = (node: SignatureNode, staticDepth: number) => C;

/** How one direction (encoding or decoding) compiles each kind of complete type. */
export interface CodecKinds<C> {
  /** The fixed codec of each basic type code. */
  basic: Readonly<Record<string, C>>;
  array: Compile<C>;
  struct: Compile<C>;
  variant: (staticDepth: number) => C;
}

/** The compiler of one direction: dispatches on the type code to `kinds`. */
export function compiler<C>(kinds: CodecKinds<C>): Compile<C> {
  return (node, staticDepth) => {
    switch (node.type) {
      case 'a':
        return kinds.array(node, staticDepth);
      case '(':
        return kinds.struct(node, staticDepth);
      case 'v':
        return kinds.variant(staticDepth);
      default:
        return kinds.basic[node.type]!;
    }
  };
}

/**
 * Codecs (encoders or decoders) per signature, compiled once by `compile`:
 * `body` for a message body (any number of complete types), `single` for a
 * variant's contents (exactly one). Both throw WireError for a bad signature.
 */
export class CodecCache<C> {
  private readonly bodies = new BoundedCache<C[]>();
  private readonly singles = new BoundedCache<CompiledType<C>>();

  constructor(private readonly compile: Compile<C>) {}

  body(signature: string): C[] {
    let codecs = this.bodies.get(signature);
    if (codecs === undefined) {
      const nodes = parseSignature(signature);
      checkTotalDepth(nodes, signature);
      codecs = nodes.map((n) => this.compile(n, 0));
      this.bodies.set(signature, codecs);
    }
    return codecs;
  }

  single(signature: string): CompiledType<C> {
    let t = this.singles.get(signature);
    if (t === undefined) {
      const node = parseSingleType(signature);
      t = { node, codec: this.compile(node, 0) };
      this.singles.set(signature, t);
    }
    return t;
  }
}
