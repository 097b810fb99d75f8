// Starting benchmark worker processes and waiting for their reports.
import { fork, type ChildProcess } from 'node:child_process';
import type { Command, Report, WorkerArgs } from './protocol.js';
import { scaledMs } from './time-scale.js';

const WORKER = new URL('./worker.js', import.meta.url);

export class BenchWorkerError extends Error {
  override readonly name = 'BenchWorkerError';
}

export class BenchTimeout extends BenchWorkerError {}

/** What every worker protocol shares: tagged messages, and an error report. */
export type Tagged = { t: string };
export type ErrorReport = { t: 'error'; message: string };

/**
 * One live worker: a queue of its reports and the waiters for them. C and R
 * are the commands and reports of its protocol (`ipnbus bench`'s by default;
 * the pub/sub bench has its own worker script).
 */
export class Worker<C extends Tagged = Command, R extends Tagged = Report> {
  readonly pid: number;
  private readonly queue: (R | ErrorReport)[] = [];
  private waiter: ((r: R | ErrorReport | Error) => void) | undefined;
  private exited: Error | undefined;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    this.pid = child.pid ?? -1;
    child.on('message', (r: R | ErrorReport) => this.push(r));
    // IPC writes to a worker that is going away fail with EPIPE, emitted here;
    // its 'exit' (below) is what reports the failure to the waiter.
    child.on('error', () => {});
    child.stderr?.on('data', (d: Buffer) => {
      // Keep only the tail: enough to explain a crash, bounded in memory.
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      this.exited = new BenchWorkerError(`worker ${this.pid} exited (${signal ?? code})${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
      this.waiter?.(this.exited);
    });
  }

  static async start<C extends Tagged = Command, R extends Tagged = Report>(
    args: WorkerArgs | object, timeoutMs = 120_000, script: URL = WORKER,
  ): Promise<Worker<C, R>> {
    const child = fork(script, [JSON.stringify(args)], {
      serialization: 'advanced', // bigints cross the IPC channel as they are
      // Profiling hook, e.g. IPNBUS_BENCH_WORKER_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'
      // (node refuses --cpu-prof in NODE_OPTIONS).
      execArgv: process.env.IPNBUS_BENCH_WORKER_ARGS?.split(' ').filter(Boolean) ?? [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const w = new Worker<C, R>(child);
    await w.next('ready' as R['t'], timeoutMs);
    return w;
  }

  private push(r: R | ErrorReport): void {
    if (this.waiter) this.waiter(r);
    else this.queue.push(r);
  }

  send(cmd: C): void {
    if (this.exited) throw this.exited;
    this.child.send(cmd);
  }

  /** The next report, which must be of type `t`; errors and timeouts (stretched by the time scale) reject. */
  async next<T extends R['t']>(t: T, hostTimeoutMs: number): Promise<Extract<R, { t: T }>> {
    const timeoutMs = scaledMs(hostTimeoutMs);
    const r = this.queue.shift() ?? (await new Promise<R | ErrorReport | Error>((resolve) => {
      if (this.exited) return resolve(this.exited);
      const timer = setTimeout(() => {
        // Forget the waiter so a late report is queued for the next caller, not lost.
        this.waiter = undefined;
        resolve(new BenchTimeout(`worker ${this.pid}: no '${t}' report within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (x) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(x);
      };
    }));
    if (r instanceof Error) throw r;
    if (r.t === 'error') throw new BenchWorkerError(`worker ${this.pid}: ${(r as ErrorReport).message}`);
    if (r.t !== t) throw new BenchWorkerError(`worker ${this.pid}: expected '${t}' report, got '${r.t}'`);
    return r as Extract<R, { t: T }>;
  }

  /** Polite exit, then SIGKILL if it lingers; always resolves. */
  async stop(): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    try {
      this.child.send({ t: 'exit' } satisfies Tagged);
    } catch {
      // IPC already closed; the kill below covers it.
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), scaledMs(3000));
    await gone;
    clearTimeout(timer);
  }
}

/**
 * Every worker's next `t` report; one that has not sent it by the deadline
 * is sent `collect` and asked for what it has.
 */
export async function collectAll<C extends Tagged, R extends Tagged, T extends R['t']>(
  workers: Worker<C, R>[], t: T, collect: C, timeoutMs: number,
): Promise<Extract<R, { t: T }>[]> {
  return Promise.all(workers.map(async (w) => {
    try {
      return await w.next(t, timeoutMs);
    } catch (err) {
      if (!(err instanceof BenchTimeout)) throw err;
      w.send(collect);
      return w.next(t, 10_000);
    }
  }));
}

/** Start `n` workers in parallel (bounded, so 64 starts do not thrash two cores). */
export async function startMany<C extends Tagged = Command, R extends Tagged = Report>(
  n: number, args: WorkerArgs | object, parallel = 8, script: URL = WORKER,
): Promise<Worker<C, R>[]> {
  const out: Worker<C, R>[] = [];
  try {
    for (let i = 0; i < n; i += parallel) {
      const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, () => Worker.start<C, R>(args, 120_000, script)));
      out.push(...batch);
    }
  } catch (err) {
    await Promise.all(out.map((w) => w.stop()));
    throw err;
  }
  return out;
}
