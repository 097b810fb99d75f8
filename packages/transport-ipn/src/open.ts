// open(): join or create a network, choosing the backend the way the design
// says: the creator decides (auto = kernel when ipn.ko is loaded), joiners
// follow what they find at the path (socket node = kernel, directory = user).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import native from '@ipnbus/native';
import type { BackendKind, Network, OpenOptions } from './network.js';
import { TransportError } from './errors.js';
import { checkMasks } from './bloom.js';
import { createUserNetwork } from './user/layout.js';
import { UserNetwork } from './user/user-network.js';
import { KernelNetwork } from './kernel/kernel-network.js';

/** What exists at `path`: 'kernel' (socket node), 'user' (directory), null. */
export function probe(path: string): BackendKind | null {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return null;
    throw new TransportError(code ?? 'EUNKNOWN', `${path}: ${(err as Error).message}`);
  }
  if (st.isSocket()) return 'kernel';
  if (st.isDirectory()) return 'user';
  throw new TransportError('ERR_BAD_NETWORK', `${path} is neither a network directory nor an AF_IPN socket node`);
}

export async function open(address: string, opts: OpenOptions = {}): Promise<Network> {
  if (typeof address !== 'string' || address.length === 0) {
    throw new TransportError('ERR_INVALID_ARG', 'address must be a non-empty path');
  }
  const want = opts.backend ?? 'auto';
  if (want !== 'auto' && want !== 'kernel' && want !== 'user') {
    throw new TransportError('ERR_INVALID_ARG', `unknown backend ${String(want)}`);
  }
  const mode = opts.mode ?? 0o700;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new TransportError('ERR_INVALID_ARG', 'mode must be 0..0o777');
  const path = resolve(address);
  const budget = opts.reassemblyBytes;
  if (budget !== undefined && (!Number.isSafeInteger(budget) || budget < 1)) {
    throw new TransportError('ERR_INVALID_ARG', `reassemblyBytes must be an integer >= 1, got ${String(budget)}`);
  }
  const common = {
    loopback: opts.loopback ?? false,
    credentials: opts.credentials ?? true,
    filter: checkMasks(opts.filter ?? null),
    ...(budget !== undefined ? { reassemblyBytes: budget } : {}),
  };
  const lossless = opts.lossless ?? true;
  let found = probe(path);
  if (found === null) {
    if (opts.create === false) throw new TransportError('ENOENT', `no network at ${path}`);
    const kind: BackendKind = want === 'auto' ? (native.ipnFamily() !== null ? 'kernel' : 'user') : want;
    if (kind === 'kernel') return KernelNetwork.open(path, { ...common, create: true, mode, lossless });
    createUserNetwork(path, mode, lossless);
    found = 'user';
  }
  if (want !== 'auto' && want !== found) {
    throw new TransportError('ERR_BAD_NETWORK', `${path} is a ${found}-backend network, not ${want}`);
  }
  // A node whose members all left is a dead network: a creator replaces it.
  if (found === 'kernel') return KernelNetwork.open(path, { ...common, create: opts.create !== false, mode, lossless });
  return UserNetwork.join(path, { ...common, ...(opts.peerQueueBytes !== undefined ? { peerQueueBytes: opts.peerQueueBytes } : {}) });
}
