// Test-side handle on a lock-holder process (lock-holder.mjs): hold a file's flock from outside, release on demand.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./lock-holder.mjs', import.meta.url));

export class LockHolder {
  private constructor(private readonly child: ChildProcess) {}

  /** Resolves once another process holds an exclusive flock on `path` (created if absent). */
  static async hold(path: string): Promise<LockHolder> {
    const child = fork(SCRIPT, [path], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: { type: string }) => (m.type === 'held' ? resolve() : reject(new Error(m.type))));
      child.once('exit', (code) => reject(new Error(`lock holder exited (${code}) before holding ${path}`)));
    });
    return new LockHolder(child);
  }

  /** Lets go of the lock; resolves with the holder's clock at the moment it did. */
  release(): Promise<number> {
    return new Promise((resolve) => {
      this.child.once('message', (m: { type: string; at: number }) => resolve(m.at));
      this.child.send({ type: 'release' });
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
