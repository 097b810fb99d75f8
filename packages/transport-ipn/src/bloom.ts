// Bloom prefilter checks shared by both backends (see BLOOM_BYTES).
import { BLOOM_BYTES } from './network.js';
import { TransportError } from './errors.js';

/** True when some mask has all its bits set in `bloom` (or no filter). */
export function bloomMatches(bloom: Uint8Array | undefined, masks: readonly Uint8Array[] | null): boolean {
  if (masks === null || bloom === undefined) return true;
  for (const m of masks) {
    let ok = true;
    for (let i = 0; i < BLOOM_BYTES; i++) {
      if ((bloom[i]! & m[i]!) !== m[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

export function checkBloom(bloom: Uint8Array | undefined): void {
  if (bloom !== undefined && (!(bloom instanceof Uint8Array) || bloom.length !== BLOOM_BYTES)) {
    throw new TransportError('ERR_INVALID_ARG', `bloom must be a ${BLOOM_BYTES}-byte Uint8Array`);
  }
}

export function checkMasks(masks: readonly Uint8Array[] | null): Uint8Array[] | null {
  checkMaskShapes(masks);
  // Copies: the caller may reuse its buffers.
  return masks === null ? null : masks.map((m) => Uint8Array.from(m));
}

/** Validates a filter without copying it (the caller copies when it keeps it). */
export function checkMaskShapes(masks: readonly Uint8Array[] | null): void {
  if (masks === null) return;
  if (!Array.isArray(masks)) throw new TransportError('ERR_INVALID_ARG', 'filter must be an array of masks or null');
  for (const m of masks) {
    if (!(m instanceof Uint8Array) || m.length !== BLOOM_BYTES) {
      throw new TransportError('ERR_INVALID_ARG', `each mask must be a ${BLOOM_BYTES}-byte Uint8Array`);
    }
  }
}

/** Two blooms (undefined: none) are the same: broadcasts with one bloom may share a batch. */
export function sameBloom(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  for (let i = 0; i < BLOOM_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}
