// Test-side handle on a member process (helpers/member.mjs): commands over IPC, received messages recorded.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Message } from '../../../src/wire/index.js';

const SCRIPT = fileURLToPath(new URL('./member.mjs', import.meta.url));

export interface RemoteError {
  name: string;
  message: string;
  dbus: boolean;
}

export class RemoteCallError extends Error {
  constructor(readonly remote: RemoteError) {
    super(`${remote.name}: ${remote.message}`);
    this.name = remote.name;
  }
}

export interface Received {
  msg: Message;
  fds: number;
  /** When the test process got it (Date.now()). */
  at: number;
}

export class Member {
  readonly child: ChildProcess;
  readonly received: Received[] = [];
  uniqueName = '';
  pid = 0;
  busId = '';
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #watchers = new Set<() => void>();
  readonly exited: Promise<NodeJS.Signals | number | null>;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    child.on('message', (m: { type: string; [k: string]: unknown }) => {
      if (m.type === 'message') {
        this.received.push({ msg: m.msg as Message, fds: m.fds as number, at: Date.now() });
        for (const w of this.#watchers) w();
      } else if (m.type === 'result') {
        const w = this.#waiting.get(m.id as number);
        this.#waiting.delete(m.id as number);
        if (m.ok) w?.resolve(m.result);
        else w?.reject(new RemoteCallError(m.error as RemoteError));
      }
    });
    child.once('exit', () => {
      for (const w of this.#waiting.values()) w.reject(new Error('member process exited'));
      this.#waiting.clear();
    });
  }

  /**
   * Starts a member process on `address` and waits until it is connected.
   * `script` speaks the same IPC protocol with another client library (a
   * dbus-next member for comparisons with dbus-daemon gets the address as
   * DBUS_ADDRESS).
   */
  static async start(address: string, script = SCRIPT): Promise<Member> {
    const child = fork(script, [], {
      env: { ...process.env, IPNBUS_ADDRESS: address, DBUS_ADDRESS: address },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const member = new Member(child);
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type: string; uniqueName?: string; pid?: number; busId?: string }): void => {
        if (m.type !== 'ready') return;
        child.off('message', onMsg);
        member.uniqueName = m.uniqueName!;
        member.pid = m.pid!;
        member.busId = m.busId!;
        resolve();
      };
      child.on('message', onMsg);
      child.once('exit', (code) => reject(new Error(`member exited (${code}) before connecting`)));
    });
    return member;
  }

  static startMany(address: string, n: number): Promise<Member[]> {
    return Promise.all(Array.from({ length: n }, () => Member.start(address)));
  }

  do<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, args });
    });
  }

  /** Resolves with the first received message (already or later) that `pred` accepts. */
  waitFor(pred: (msg: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    const found = this.received.find((r) => pred(r.msg));
    if (found) return Promise.resolve(found.msg);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const r = this.received.find((x) => pred(x.msg));
        if (r) {
          this.#watchers.delete(check);
          clearTimeout(timer);
          resolve(r.msg);
        }
      };
      const timer = setTimeout(() => {
        this.#watchers.delete(check);
        reject(new Error(`${this.uniqueName}: no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#watchers.add(check);
    });
  }

  /** Waits until `pred` holds for the count of matching messages. */
  async waitCount(pred: (msg: Message) => boolean, n: number, timeoutMs = 10000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = this.received.filter((r) => pred(r.msg)).length;
      if (c >= n || Date.now() > deadline) return c;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  signals(member: string): Message[] {
    return this.received.map((r) => r.msg).filter((m) => m.type === 4 && m.member === member);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<unknown> {
    this.child.kill(signal);
    return this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

export const isNOC = (name: string) => (m: Message): boolean =>
  m.type === 4 && m.member === 'NameOwnerChanged' && m.body[0] === name;
