// One fresh clone of this repository with one `npm install`, shared by every
// check that asks "does it work for a newcomer": a `git clone --no-local` of
// HEAD (what git tracks, not the working tree), installed exactly as the
// README says. Installing costs about a minute, so a test file makes one.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a program to completion; resolves with its exit code (never rejects on a non-zero exit). */
export function run(file: string, args: string[], opts: ExecFileOptions & { timeoutMs?: number } = {}): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000, ...opts, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      if (err && typeof code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: code as number, stdout: String(stdout), stderr: String(stderr), ms: performance.now() - t0 });
    });
  });
}

/** Throws with the output when a step of the setup fails. */
export function expectOk(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
  return r;
}

export interface FreshClone {
  dir: string;
  /** Wall time of the one `npm install`, in milliseconds. */
  installMs: number;
  remove(): Promise<void>;
}

/** Clone HEAD of this repository into a temporary directory and run `npm install` there once. */
export async function freshClone(): Promise<FreshClone> {
  const parent = await mkdtemp(join(tmpdir(), 'ipnbus-fresh-clone-'));
  const dir = join(parent, 'ipnbus');
  const remove = () => rm(parent, { recursive: true, force: true });
  try {
    expectOk(await run('git', ['clone', '--quiet', '--no-local', REPO_ROOT, dir]), 'git clone');
    const install = expectOk(await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, timeoutMs: 600_000 }), 'npm install');
    return { dir, installMs: install.ms, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
