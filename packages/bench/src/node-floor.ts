// The Node.js floor for paced signal latency: one node process writes a
// CLOCK_MONOTONIC stamp to another over a plain AF_UNIX socket (node:net) at
// the latency scenario's rate. No bus, no marshalling: what any Node client pays.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile } from './stats.js';

const SELF = fileURLToPath(import.meta.url);

export interface NodeFloor { rate: number; n: number; p50Us: number; p99Us: number }

/** Run the receiver here and the sender in a child process; resolves with the latencies. */
export async function measureNodeFloor(rate: number, count: number, warmup: number): Promise<NodeFloor> {
  const dir = await mkdtemp(join(tmpdir(), 'ipnbus-nodefloor-'));
  const path = join(dir, 'floor.sock');
  const samples: number[] = [];
  try {
    const done = new Promise<void>((resolve, reject) => {
      const server = createServer((sock) => {
        let pending = Buffer.alloc(0);
        sock.on('data', (d: Buffer) => {
          const now = process.hrtime.bigint();
          pending = Buffer.concat([pending, d]);
          while (pending.length >= 8) {
            samples.push(Number(now - pending.readBigUInt64LE(0)));
            pending = pending.subarray(8);
          }
          if (samples.length >= count) {
            sock.destroy();
            server.close();
            resolve();
          }
        });
      });
      server.on('error', reject);
      server.listen(path, () => {
        const child = fork(SELF, ['--node-floor-sender', path, String(rate), String(count)], { stdio: 'ignore' });
        child.on('exit', (code) => {
          if (samples.length < count) reject(new Error(`node floor sender exited (${code}) after ${samples.length} samples`));
        });
      });
    });
    await done;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const kept = samples.slice(warmup);
  return { rate, n: kept.length, p50Us: percentile(kept, 50) / 1000, p99Us: percentile(kept, 99) / 1000 };
}

export interface NodeCallFloor { n: number; p50Us: number; p99Us: number }

/**
 * The Node.js floor for a call: a ping-pong of 64 bytes between two node
 * processes over a plain AF_UNIX socket (node:net), one in flight, what a
 * method call between two Node processes costs with no bus and no marshalling.
 */
export async function measureNodeCallFloor(count: number, warmup: number): Promise<NodeCallFloor> {
  const dir = await mkdtemp(join(tmpdir(), 'ipnbus-nodefloor-'));
  const path = join(dir, 'echo.sock');
  const child = fork(SELF, ['--node-floor-echo', path], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const rtt: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`node echo floor exited (${code}) before listening`)));
    });
    const sock = connect(path);
    await new Promise<void>((r, reject) => {
      sock.once('connect', () => r());
      sock.once('error', reject);
    });
    const ping = Buffer.alloc(64, 1);
    let got = 0;
    let wake: (() => void) | undefined;
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= ping.length) {
        got -= ping.length;
        wake?.();
      }
    });
    for (let i = 0; i < warmup + count; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise<void>((r) => {
        wake = r;
        sock.write(ping);
      });
      if (i >= warmup) rtt.push(Number(process.hrtime.bigint() - t0));
    }
    sock.destroy();
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
  return { n: rtt.length, p50Us: percentile(rtt, 50) / 1000, p99Us: percentile(rtt, 99) / 1000 };
}

/** The echo side of the call floor, when this file is run as that child. */
function echo(path: string): void {
  const server = createServer((sock) => sock.on('data', (d: Buffer) => sock.write(d)));
  server.listen(path, () => process.send?.('listening'));
  process.on('disconnect', () => process.exit(0));
}

/** The sender side, when this file is run as the child. */
async function sender(path: string, rate: number, count: number): Promise<void> {
  const sock = connect(path);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const interval = 1000 / rate;
  for (let i = 0; i < count; i++) {
    await new Promise((r) => setTimeout(r, interval));
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(process.hrtime.bigint(), 0);
    sock.write(b);
  }
  sock.end();
}

if (process.argv[2] === '--node-floor-echo') echo(process.argv[3]!);
if (process.argv[2] === '--node-floor-sender') {
  sender(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5])).catch(() => process.exit(1));
}
