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
//   <dir>/<id>.hold   HOLD_BYTES, mode as the lock file. Byte 0: number of
//                     slots in use (0..SLOTS). Slot i at 16 + 16*i: u64 LE
//                     sender id (0 = free), u64 LE sequence number.
//
// Every write happens under the network lock; the owner reads byte 0 without
// it (one byte: never torn) and the slots under it.
import { closeSync, openSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import native from '@ipnbus/native';
import { tryLock, unlock } from './layout.js';

/** Senders that can hold messages for one receiver at the same time. */
export const HOLD_SLOTS = 255;
const SLOT0 = 16;
const SLOT_BYTES = 16;
export const HOLD_BYTES = SLOT0 + HOLD_SLOTS * SLOT_BYTES;

export function holdPath(dir: string, id: bigint): string {
  return join(dir, `${id}.hold`);
}

/** Creates a member's hold file (all free) with the lock file's mode; returns its mapping. */
export function createHoldFile(dir: string, id: bigint, mode: number): Buffer {
  const path = holdPath(dir, id);
  writeFileSync(path, Buffer.alloc(HOLD_BYTES), { mode });
  chmodSync(path, mode);
  return mapHoldFile(path);
}

/** Maps another member's hold file; null when it has none (it left, or never made one). */
export function openHoldFile(dir: string, id: bigint): Buffer | null {
  try {
    return mapHoldFile(holdPath(dir, id));
  } catch {
    return null;
  }
}

function mapHoldFile(path: string): Buffer {
  const fd = openSync(path, 'r+');
  try {
    return native.mmapShared(fd, HOLD_BYTES);
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

/**
 * Sets `sender`'s hold in `map` to `seq` (0 clears it). Caller holds the
 * network lock. False when every slot is taken: the caller must not queue a
 * numbered message for this receiver then (it drops and counts instead).
 */
export function setHold(map: Buffer, sender: bigint, seq: number): boolean {
  let free = -1;
  for (let i = 0; i < HOLD_SLOTS; i++) {
    const off = SLOT0 + i * SLOT_BYTES;
    const who = map.readBigUInt64LE(off);
    if (who === sender) {
      if (seq === 0) {
        map.writeBigUInt64LE(0n, off + 8);
        map.writeBigUInt64LE(0n, off);
        map[0] = map[0]! - 1;
      } else {
        map.writeBigUInt64LE(BigInt(seq), off + 8);
      }
      return true;
    }
    if (who === 0n && free < 0) free = i;
  }
  if (seq === 0) return true;
  if (free < 0) return false;
  const off = SLOT0 + free * SLOT_BYTES;
  map.writeBigUInt64LE(BigInt(seq), off + 8);
  map.writeBigUInt64LE(sender, off);
  map[0] = map[0]! + 1;
  return true;
}

/**
 * The receiver's side: the lowest number held for it, or +Infinity. Takes
 * the lock (never waiting: 0 when another process holds it, so the caller
 * delivers nothing until it can look) only when some hold is set, and on the
 * way clears the holds of `departed` senders (their queues died with them).
 */
export function lowestHold(map: Buffer, lockFd: number, departed: Set<bigint>): number {
  if (map[0] === 0) {
    departed.clear();
    return Number.POSITIVE_INFINITY;
  }
  if (!tryLock(lockFd)) return 0;
  let low = Number.POSITIVE_INFINITY;
  try {
    for (const id of departed) setHold(map, id, 0);
    departed.clear();
    for (let i = 0; i < HOLD_SLOTS; i++) {
      const off = SLOT0 + i * SLOT_BYTES;
      if (map.readBigUInt64LE(off) === 0n) continue;
      const seq = Number(map.readBigUInt64LE(off + 8));
      if (seq < low) low = seq;
    }
  } finally {
    unlock(lockFd);
  }
  return low;
}
