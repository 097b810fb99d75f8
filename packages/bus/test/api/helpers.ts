// Helpers for the multi-process API tests: a private bus directory per
// test file and a service child process driven by JSON lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { connect, type MessageBus } from 'ipnbus';
import { BACKEND } from '../../../../test/backend.mjs';

export const backend = BACKEND;
export const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A private temp directory holding the bus (and anything else a test puts next to it). */
export function tempBus(): { dir: string; address: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ipnbus-api-'));
  return { dir, address: `ipnbus:path=${join(dir, 'bus')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh bus this process creates (so it picks the backend), joined by the service.mjs child. */
export interface ServiceBus {
  dir: string;
  address: string;
  bus: MessageBus;
  child: Child;
  /** Stops the child, disconnects, removes the directory. */
  close(): Promise<void>;
}

export async function startServiceBus(): Promise<ServiceBus> {
  const temp = tempBus();
  let bus: MessageBus | undefined;
  try {
    bus = await connect({ address: temp.address, backend });
    const child = await startChild('service.mjs', temp.address);
    const joined = bus;
    return {
      dir: temp.dir,
      address: temp.address,
      bus: joined,
      child,
      close: async () => {
        await child.stop();
        joined.disconnect();
        temp.cleanup();
      },
    };
  } catch (e) {
    bus?.disconnect();
    temp.cleanup();
    throw e;
  }
}

export interface Child {
  proc: ChildProcess;
  name: string;
  pid: number;
  command(...args: unknown[]): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Start a fixture script (compiled JS world) and wait for its ready line. */
export async function startChild(script: string, address: string): Promise<Child> {
  const proc = spawn(process.execPath, [join(fixtures, script)], {
    env: { ...process.env, IPNBUS_ADDRESS: address, IPNBUS_TEST_BACKEND: backend },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout! });
  const waiting: ((v: Record<string, unknown>) => void)[] = [];
  const queued: Record<string, unknown>[] = [];
  lines.on('line', (l) => {
    const v = JSON.parse(l) as Record<string, unknown>;
    const w = waiting.shift();
    if (w) w(v);
    else queued.push(v);
  });
  const next = (): Promise<Record<string, unknown>> =>
    new Promise((res, rej) => {
      const q = queued.shift();
      if (q) return res(q);
      const t = setTimeout(() => rej(new Error(`${script}: no answer`)), 15_000);
      waiting.push((v) => {
        clearTimeout(t);
        res(v);
      });
    });
  const exited = new Promise<void>((res) => proc.on('exit', () => res()));
  const ready = await Promise.race([next(), exited.then(() => { throw new Error(`${script} exited before ready`); })]);
  return {
    proc,
    name: ready['ready'] as string,
    pid: ready['pid'] as number,
    command: (...args) => {
      proc.stdin!.write(JSON.stringify(args) + '\n');
      return next();
    },
    stop: async () => {
      if (proc.exitCode === null) {
        proc.stdin!.write(JSON.stringify(['exit']) + '\n');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** Resolve with the args of the next `event` emission, or fail after ms. */
export function nextEvent<T extends unknown[]>(em: { once(e: string, f: (...a: never[]) => void): unknown }, event: string, ms = 5000): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no '${event}' within ${ms} ms`)), ms);
    em.once(event, ((...a: T) => {
      clearTimeout(t);
      res(a);
    }) as never);
  });
}
