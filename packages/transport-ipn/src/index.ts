// @ipnbus/transport-ipn: one Network interface over AF_IPN or an AF_UNIX mesh.
export * from './network.js';
export { open, probe } from './open.js';
export { TransportError } from './errors.js';
export { HEADER_BYTES, BLOOM_OFFSET, MAX_MESSAGE_BYTES } from './header.js';
export { compileBloomFilter } from './bpf.js';
export { bloomMatches } from './bloom.js';
export { MaskSet, maskList, type Filter } from './mask-set.js';
export { makeParents } from './make-parents.js';
