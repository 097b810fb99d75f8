// Test harness: spawns fixtures/member.mjs processes and talks to them.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BACKEND, SCALE, scaled } from '../../../test/backend.mjs';

const script = fileURLToPath(new URL('./fixtures/member.mjs', import.meta.url));

export interface Reply {
  ok: boolean;
  error?: string;
  code?: string | null;
  [k: string]: unknown;
}

export interface MemberEvent {
  ev: 'join' | 'leave' | 'error';
  id?: string;
  pid?: number;
  uid?: number;
  message?: string;
}

export class Member {
  readonly child: ChildProcess;
  readonly events: MemberEvent[] = [];
  id = 0n;
  private nextId = 1;
  private pending = new Map<number, (r: Reply) => void>();
  private ready: Promise<void>;
  private eventWaiters: (() => void)[] = [];

  constructor(opts: { uid?: number; gid?: number } = {}) {
    this.child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...opts });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.on('message', (m: Reply & { ready?: boolean; rid?: number } & MemberEvent) => {
        if (m.ready) resolve();
        else if (m.ev !== undefined) {
          this.events.push(m);
          for (const w of this.eventWaiters.splice(0)) w();
        } else if (typeof m.rid === 'number') {
          this.pending.get(m.rid)?.(m);
          this.pending.delete(m.rid);
        }
      });
      this.child.once('exit', (code, sig) => {
        for (const p of this.pending.values()) p({ ok: false, error: `member exited (${code ?? sig})` });
        this.pending.clear();
        reject(new Error(`member exited before ready (${code ?? sig})`));
      });
    });
    // A member killed before its first call is not an error of the test.
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends an op; resolves with the reply (ok false = the op failed). */
  async call(op: string, args: Record<string, unknown> = {}): Promise<Reply> {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ rid: id, op, args });
    });
  }

  /** Like call, but throws when the op failed. */
  async must(op: string, args: Record<string, unknown> = {}): Promise<Reply> {
    const r = await this.call(op, args);
    if (!r.ok) throw new Error(`${op}: ${r.error} (${r.code})`);
    return r;
  }

  async open(path: string, opts: Record<string, unknown> = {}): Promise<bigint> {
    const r = await this.must('open', { path, opts });
    this.id = BigInt(r.id as string);
    return this.id;
  }

  async waitEvent(pred: (e: MemberEvent) => boolean, timeoutMs = 10_000): Promise<MemberEvent> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find(pred);
      if (e !== undefined) return e;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`event not seen; have ${JSON.stringify(this.events)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.eventWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Stops the process (SIGSTOP): it reads nothing until resume(). */
  stop(): void {
    this.child.kill('SIGSTOP');
  }

  /** Lets a stopped process run again (SIGCONT). */
  resume(): void {
    this.child.kill('SIGCONT');
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill(signal);
    });
  }
}

/** Test size knob: the VM is much slower, so it scales counts down. */
export { BACKEND, SCALE, scaled };
