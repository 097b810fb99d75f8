// Holds: how a sender keeps the network-wide order intact for a receiver
// whose socket is full, without making every other member wait for it.
//
// A broadcast that finds a receiver full is numbered and sent to everyone
// else at once; the receiver's copy waits in the sender's queue for that
// receiver (see peer.ts). Until it is sent, the receiver must not deliver
// anything numbered at or above it, from anyone, or it would see messages in
// another order than the others. So, under the network lock, before any
// later number can be taken, the sender writes a hold into the receiver's
// hold file: "sender S still has message n for you". The receiver delivers
// only below its lowest hold (order.ts), and the sender raises or clears its
// hold, again under the lock, as its queue drains.
//
//   <dir>/<id>.hold   HOLD_BYTES, mode as the lock file, read as u64 words
//                     (host order): word 0 the number of slots in use,
//                     then per slot the sender id (0 = free) and the number.
//
// Every write happens under the network lock. The owner reads without it:
// each word is written and read whole (one aligned 64-bit store or load), a
// slot's number is written before its sender id and the count after both,
// and x86-64 keeps stores in order, so a reader sees either the old hold
// (which only makes it wait a little longer) or the new one, never a mix.
import { closeSync, openSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import native from '@ipnbus/native';
import { tryLock, unlock } from './layout.js';

/** Senders that can hold messages for one receiver at the same time. */
export const HOLD_SLOTS = 255;
const SLOT0 = 1;
export const HOLD_BYTES = 8 * (SLOT0 + 2 * HOLD_SLOTS);

export function holdPath(dir: string, id: bigint): string {
  return join(dir, `${id}.hold`);
}

/** Creates a member's hold file (all free) with the lock file's mode; returns its mapping. */
export function createHoldFile(dir: string, id: bigint, mode: number): HoldWords {
  const path = holdPath(dir, id);
  writeFileSync(path, Buffer.alloc(HOLD_BYTES), { mode });
  chmodSync(path, mode);
  return mapHoldFile(path);
}

/** Maps another member's hold file; null when it has none (it left, or never made one). */
export function openHoldFile(dir: string, id: bigint): HoldWords | null {
  try {
    return mapHoldFile(holdPath(dir, id));
  } catch {
    return null;
  }
}

function mapHoldFile(path: string): HoldWords {
  const fd = openSync(path, 'r+');
  try {
    return words(native.mmapShared(fd, HOLD_BYTES));
  } finally {
    closeSync(fd);
  }
}

export function removeHoldFile(dir: string, id: bigint): void {
  try {
    unlinkSync(holdPath(dir, id));
  } catch {
    // Already gone.
  }
}

/** The hold file as u64 words. */
export type HoldWords = BigUint64Array;

function words(map: Buffer): HoldWords {
  return new BigUint64Array(map.buffer, map.byteOffset, HOLD_BYTES / 8);
}

/**
 * Sets `sender`'s hold in `w` to `seq` (0 clears it). Caller holds the
 * network lock. False when every slot is taken: the caller must not queue a
 * numbered message for this receiver then (it drops and counts instead).
 */
export function setHold(w: HoldWords, sender: bigint, seq: number): boolean {
  let free = -1;
  for (let i = 0; i < HOLD_SLOTS; i++) {
    const at = SLOT0 + 2 * i;
    const who = w[at]!;
    if (who === sender) {
      if (seq === 0) {
        w[at] = 0n;
        w[at + 1] = 0n;
        w[0] = w[0]! - 1n;
      } else {
        w[at + 1] = BigInt(seq);
      }
      return true;
    }
    if (who === 0n && free < 0) free = i;
  }
  if (seq === 0) return true;
  if (free < 0) return false;
  const at = SLOT0 + 2 * free;
  w[at + 1] = BigInt(seq);
  w[at] = sender;
  w[0] = w[0]! + 1n;
  return true;
}

/**
 * The receiver's side: the lowest number held for it, or +Infinity, read
 * without the lock. Holds of `departed` senders (their queues died with
 * them) are ignored, and cleared when the lock is free.
 */
export function lowestHold(w: HoldWords, lockFd: number, departed: Set<bigint>): number {
  if (w[0] === 0n) {
    departed.clear();
    return Number.POSITIVE_INFINITY;
  }
  let low = Number.POSITIVE_INFINITY;
  for (let i = 0; i < HOLD_SLOTS; i++) {
    const at = SLOT0 + 2 * i;
    const who = w[at]!;
    if (who === 0n || departed.has(who)) continue;
    const seq = Number(w[at + 1]!);
    if (seq < low) low = seq;
  }
  if (departed.size > 0 && tryLock(lockFd)) {
    try {
      for (const id of departed) setHold(w, id, 0);
      departed.clear();
    } finally {
      unlock(lockFd);
    }
  }
  return low;
}
