// Owner locks: the primary owner of a name holds names/<n>.owner locked, which the kernel vouches for.
import * as fs from 'node:fs';
import { tryLock } from './flock.js';

/**
 * Who holds flocks, from /proc/locks: "dev:ino" -> pids. The kernel writes
 * that table, so a process cannot claim a lock it does not hold. Undefined
 * when it cannot be read (no procfs).
 */
export type LockTable = Map<string, Set<number>>;

export function readLockTable(): LockTable | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/locks', 'latin1');
  } catch {
    return undefined;
  }
  const table: LockTable = new Map();
  // "1: FLOCK  ADVISORY  WRITE 2839 fd:01:1835041 0 EOF"; waiters carry "->".
  const line = /^\d+: (FLOCK|POSIX|OFDLCK) +\w+ +\w+ +(-?\d+) +([0-9a-f]+):([0-9a-f]+):(\d+) /gm;
  for (const m of text.matchAll(line)) {
    const key = `${parseInt(m[3]!, 16)}:${parseInt(m[4]!, 16)}:${m[5]}`;
    let pids = table.get(key);
    if (pids === undefined) table.set(key, (pids = new Set()));
    pids.add(Number(m[2]));
  }
  return table;
}

/** The processes holding a lock on the file at `path` (none if it is absent). */
export function lockHolders(table: LockTable, path: string): Set<number> {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(path, { bigint: true });
  } catch {
    return new Set();
  }
  // glibc's dev_t encoding, as the kernel prints MAJOR:MINOR in /proc/locks.
  const dev = st.dev;
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return table.get(`${major}:${minor}:${st.ino}`) ?? new Set();
}

/** The owner locks this connection holds, one open file per name it is primary owner of. */
export class OwnerLocks {
  readonly #pathOf: (name: string) => string;
  readonly #held = new Map<string, number>();

  constructor(pathOf: (name: string) => string) {
    this.#pathOf = pathOf;
  }

  holding(name: string): boolean {
    return this.#held.has(name);
  }

  /** Takes the lock of `name` if free; true if we hold it now. */
  tryTake(name: string): boolean {
    if (this.#held.has(name)) return true;
    const fd = fs.openSync(this.#pathOf(name), fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o644);
    if (tryLock(fd)) {
      this.#held.set(name, fd);
      return true;
    }
    fs.closeSync(fd);
    return false;
  }

  release(name: string): void {
    const fd = this.#held.get(name);
    if (fd === undefined) return;
    this.#held.delete(name);
    fs.closeSync(fd);
  }

  releaseAll(): void {
    for (const name of [...this.#held.keys()]) this.release(name);
  }
}
