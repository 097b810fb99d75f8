// Test-side handle on a member process of the reliability tests: forks a
// script that answers { id, op, args } with { id, ok, result | error } and
// says { ready: true, ... } once connected.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';

export class Proc {
  readonly child: ChildProcess;
  /** Resolves with the script's ready message. */
  readonly ready: Promise<Record<string, unknown>>;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(script: string, address: string, env: Record<string, string> = {}) {
    this.child = fork(script, [], { env: { ...process.env, ...env, IPNBUS_ADDRESS: address }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code, sig) => {
        for (const w of this.#waiting.values()) w.reject(new Error(`member exited (${code ?? sig})`));
        reject(new Error(`member exited (${code ?? sig})`));
      });
      this.child.on('message', (m: { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string }) => {
        if (m.ready) return resolve(m as Record<string, unknown>);
        const w = this.#waiting.get(m.id!);
        this.#waiting.delete(m.id!);
        if (m.ok) w?.resolve(m.result);
        else w?.reject(new Error(m.error));
      });
    });
    this.ready.catch(() => undefined);
  }

  do<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, args });
    });
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGKILL');
    return gone;
  }
}

export { until } from '../until.mjs';

export interface ProcsPerFile {
  /** The address of bus `name` in the file's temporary directory. */
  address(name: string): string;
  /** A member process running `script` on `address`, killed after the test. */
  spawn(script: string, address: string): Proc;
}

/**
 * For a test file: a temporary directory for its buses (removed at the
 * end), and member processes killed after each test (a stopped one is
 * resumed first).
 */
export function procsPerFile(label: string): ProcsPerFile {
  let root = '';
  let procs: Proc[] = [];
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), `ipnbus-${label}-`));
  });
  afterEach(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.signal('SIGCONT');
    await Promise.all(procs.map((p) => p.kill()));
    procs = [];
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return {
    address: (name) => `ipnbus:path=${join(root, name)}`,
    spawn(script, address) {
      const p = new Proc(script, address);
      procs.push(p);
      return p;
    },
  };
}
