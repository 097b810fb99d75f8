// Name records in the bus directory: read, and change under a guard lock, one file per name.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { BusDir } from './bus-dir.js';
import { lock, unlock } from './flock.js';
import { logger } from './logger.js';
import { dropMembers, type NameState, type Outcome } from './name-state.js';

interface StoredState {
  name: string;
  version: number;
  /** Network generation the owner ids belong to (absent: 1). */
  generation?: number;
  owners: Array<{ id: string; flags: number }>;
  /** See NameState.handedOverFrom. */
  handedOverFrom?: string;
}

/** File names stay under NAME_MAX (255) even for the longest bus names. */
function fileBase(name: string): string {
  return name.length <= 200 ? name : 'h-' + createHash('sha256').update(name).digest('hex');
}

/** A record of another network generation reads as "no owners": its ids name other members. */
function parse(text: string, generation: number, expectName?: string): NameState | undefined {
  try {
    const s = JSON.parse(text) as StoredState;
    if (typeof s.name !== 'string' || !Number.isSafeInteger(s.version) || !Array.isArray(s.owners)) return undefined;
    if (expectName !== undefined && s.name !== expectName) return undefined;
    if ((s.generation ?? 1) !== generation) return { name: s.name, version: s.version, owners: [] };
    const state: NameState = {
      name: s.name,
      version: s.version,
      owners: s.owners.map((o) => ({ id: BigInt(o.id), flags: o.flags >>> 0 })),
    };
    if (typeof s.handedOverFrom === 'string') state.handedOverFrom = BigInt(s.handedOverFrom);
    return state;
  } catch {
    return undefined;
  }
}

/**
 * The primary owner of `before` whose place went to a member queued behind
 * it (it died, or released the name), if this change is such a handover.
 */
function handedOver(before: NameState, after: NameState): bigint | undefined {
  const old = before.owners[0]?.id;
  const now = after.owners[0]?.id;
  if (old === undefined || now === undefined || old === now) return undefined;
  if (after.owners.some((c) => c.id === old)) return undefined;
  return before.owners.some((c, i) => i > 0 && c.id === now) ? old : undefined;
}

export class NameStore {
  readonly #dir: BusDir;

  constructor(dir: BusDir) {
    this.#dir = dir;
  }

  empty(name: string): NameState {
    return { name, version: 0, owners: [] };
  }

  /** The file the primary owner of `name` keeps locked (owner-locks.ts). */
  ownerLockPath(name: string): string {
    return join(this.#dir.namesDir, fileBase(name) + '.owner');
  }

  /** The stored state of `name` (version 0 and no owners if none). */
  read(name: string): NameState {
    const path = join(this.#dir.namesDir, fileBase(name) + '.json');
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return this.empty(name);
      throw e;
    }
    const s = parse(text, this.#dir.generation, name);
    if (s === undefined) {
      logger.warn({ path }, 'ignoring a corrupt name record');
      return this.empty(name);
    }
    return s;
  }

  /** Every stored name record: the snapshot a new member starts from. */
  readAll(): NameState[] {
    const out: NameState[] = [];
    for (const f of fs.readdirSync(this.#dir.namesDir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const s = parse(fs.readFileSync(join(this.#dir.namesDir, f), 'utf8'), this.#dir.generation);
        if (s !== undefined) out.push(s);
      } catch (e) {
        // Removed between readdir and read: nothing to take.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return out;
  }

  #write(state: NameState): void {
    const base = join(this.#dir.namesDir, fileBase(state.name));
    const stored: StoredState = {
      name: state.name,
      version: state.version,
      generation: this.#dir.generation,
      owners: state.owners.map((o) => ({ id: o.id.toString(), flags: o.flags })),
    };
    if (state.handedOverFrom !== undefined) stored.handedOverFrom = state.handedOverFrom.toString();
    // Write then rename: readers without the guard (snapshots) see the old
    // or the new record, never half of one.
    const tmp = `${base}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(stored));
    fs.renameSync(tmp, base + '.json');
  }

  /**
   * Changes one name under its guard lock: claims of dead members are
   * dropped first (so the queue head takes over from a killed owner), then
   * `fn` applies the request. A changed record is written with the next
   * version and handed to `publish` while the guard is still held, so
   * announcements of one name go out in version order.
   */
  async mutate<R>(
    name: string,
    gone: (id: bigint) => boolean,
    fn: (s: NameState) => Outcome<R>,
    publish: (s: NameState) => void,
  ): Promise<{ state: NameState; reply: R; changed: boolean }> {
    const lockPath = join(this.#dir.namesDir, fileBase(name) + '.lock');
    // Read-only is enough for flock, so members of other uids sharing the
    // bus can take a guard created by someone else.
    const fd = fs.openSync(lockPath, fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o644);
    try {
      await lock(fd, lockPath);
      try {
        const stored = this.read(name);
        const cleaned = dropMembers(stored, gone);
        const out = fn(cleaned.state);
        if (!cleaned.changed && !out.changed) return { state: stored, reply: out.reply, changed: false };
        // A marker describes one change: the next one does not carry it.
        const next: NameState = { name: out.state.name, version: stored.version + 1, owners: out.state.owners };
        const from = handedOver(stored, next);
        if (from !== undefined) next.handedOverFrom = from;
        this.#write(next);
        publish(next);
        return { state: next, reply: out.reply, changed: true };
      } finally {
        unlock(fd);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}
