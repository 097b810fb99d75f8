// A private dbus-daemon for the baseline, plus /proc readings of a bus's CPU and memory.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scaledMs } from './time-scale.js';

/** A running baseline bus: where to connect and which processes do its work. */
export interface PrivateDaemon {
  address: string;
  /** Every process of the bus, for CPU and memory from /proc. */
  pids: number[];
  version: string;
  stop(): Promise<void>;
}

/** Start `dbus-daemon --session` on a socket in `dir`; resolves once it prints its address. */
export async function startDbusDaemon(dir: string): Promise<PrivateDaemon> {
  const socket = join(dir, 'dbus-daemon.sock');
  const child: ChildProcess = spawn('dbus-daemon', [
    '--session', `--address=unix:path=${socket}`, '--nofork', '--print-address',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`dbus-daemon did not start within ${scaledMs(10_000) / 1000} s: ${err}`)), scaledMs(10_000));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run dbus-daemon (${e.message}); install the dbus-daemon package`));
    });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-daemon exited with ${code}: ${err}`));
    });
  });
  let version = 'unknown';
  try {
    version = execFileSync('dbus-daemon', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch {
    // Version is only informative.
  }
  return {
    address,
    pids: [child.pid!],
    version,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used, in microseconds, from /proc. */
export function procCpuUs(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; comm may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) / clockTicks) * 1e6;
}

/** Voluntary + involuntary context switches of every thread of a process so far, from /proc. */
export function procSwitches(pid: number): number {
  let n = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      n += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return n;
}

/** Resident set size of a process in bytes, from /proc. */
export function procRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}
