// mkdir -p for the directories above a network or bus path.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Creates `dir` and any missing ancestors with `mode`, one level at a time.
 * Node's `mkdirSync(p, { recursive: true })` loops forever where mkdir
 * answers ENOENT under an existing parent (in /proc, /sys): here every
 * failure is thrown with its errno and the path that failed.
 */
export function makeParents(dir: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) {
        throw Object.assign(new Error(`ENOTDIR: ${p} is not a directory`), { code: 'ENOTDIR', path: p });
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw err;
      missing.push(p);
    }
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p, { mode });
    } catch (err) {
      // Another process made it between our stat and mkdir: fine.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
