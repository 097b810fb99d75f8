// Shared fixtures for the gateway tests: a private bus, a gateway on it, and spawning stock tools with timeouts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway, type GatewayLimits } from '../../packages/bus/src/gateway/index.js';
import { BACKEND, perBackend } from '../backend.mjs';
import { until } from '../until.mjs';

export interface TestBus {
  dir: string;
  busAddress: string;
  gw: Gateway;
  close(): Promise<void>;
}

/**
 * A fresh bus in a temp dir, with a gateway listening next to it: the user
 * backend, or the kernel one when the VM runs the suite with
 * IPNBUS_TEST_BACKEND=kernel.
 */
export async function startTestBus(limits?: Partial<GatewayLimits>, unixFds?: boolean): Promise<TestBus> {
  const dir = mkdtempSync(join(tmpdir(), 'ipnbus-gw-'));
  const busAddress = `ipnbus:path=${join(dir, 'bus')}`;
  const gw = await startGateway({
    listen: `unix:path=${join(dir, 'gw.sock')}`,
    busAddress,
    backend: BACKEND,
    ...(limits ? { limits } : {}),
    ...(unixFds !== undefined ? { unixFds } : {}),
  });
  return {
    dir,
    busAddress,
    gw,
    async close() {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/**
 * Runs a tool to completion, killed after `timeoutMs` so a hang fails the
 * test instead of stalling it (30 s in the VM: a gdbus call through the
 * gateway took over 10 s there on a loaded machine).
 */
export function run(cmd: string, args: string[], timeoutMs = perBackend({ user: 10_000, kernel: 30_000 })): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid ?? -1 });
    });
  });
}

/** A long-running tool (a monitor) whose output we wait on. */
export class Watched {
  readonly child: ChildProcess;
  output = '';
  private waiters: Array<() => void> = [];

  constructor(cmd: string, args: string[], hardTimeoutMs = 30_000) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer): void => {
      this.output += d.toString();
      for (const w of this.waiters) w();
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    const t = setTimeout(() => this.child.kill('SIGKILL'), hardTimeoutMs);
    t.unref();
    this.child.on('close', () => clearTimeout(t));
  }

  /** Resolves when `re` matches the output so far; rejects after `timeoutMs` with what was seen. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = this.output.match(re);
        if (m) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(m);
          return true;
        }
        return false;
      };
      const waiter = (): void => void check();
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${re} in output:\n${this.output.slice(-3000)}`));
      }, timeoutMs);
      if (!check()) this.waiters.push(waiter);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('close', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

export { until };

const CLI = join(import.meta.dirname, '../../packages/bus/dist/cli/main.js');

/** `ipnbus gateway` (the compiled CLI) in a process of its own, serving `socket` in front of `busAddress`. */
export class GatewayProcess {
  readonly child: ChildProcess;
  /** Its stdout and stderr so far. */
  output = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d));
    child.stderr!.on('data', (d: Buffer) => (this.output += d));
  }

  /**
   * Starts it and waits for the address it prints. `fdLimit` runs it under
   * `ulimit -n`; `env` is added to this process's environment.
   */
  static async start(busAddress: string, socket: string, opts: { backend?: string; env?: NodeJS.ProcessEnv; fdLimit?: number; uid?: number } = {}): Promise<GatewayProcess> {
    const args = [CLI, '--address', busAddress, 'gateway', '--listen', `unix:path=${socket}`, ...(opts.backend ? ['--backend', opts.backend] : [])];
    const [cmd, argv] = opts.fdLimit === undefined
      ? [process.execPath, args]
      : ['bash', ['-c', `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, process.execPath, ...args]];
    const gw = new GatewayProcess(spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
    }));
    // A node process takes 17-30 s to start under TCG (the VM).
    try {
      await until(() => gw.address !== undefined || gw.child.exitCode !== null, perBackend({ user: 20_000, kernel: 90_000 }), 'the gateway process to start');
      if (gw.address === undefined) throw new Error(`gateway process failed: ${gw.output}`);
    } catch (err) {
      await gw.kill();
      throw err;
    }
    return gw;
  }

  /** The DBUS_SESSION_BUS_ADDRESS it printed. */
  get address(): string | undefined {
    return /DBUS_SESSION_BUS_ADDRESS=(\S+)/.exec(this.output)?.[1];
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGKILL, and wait for it to be gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((r) => this.child.once('close', r));
    this.child.kill('SIGKILL');
    await gone;
  }
}
