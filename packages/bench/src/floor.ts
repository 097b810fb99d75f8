// The physical floor: C AF_UNIX SOCK_SEQPACKET programs from bench/c, compiled
// with cc at run time, measuring what the kernel alone costs.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findRepoRoot } from './report/files.js';

const run = promisify(execFile);

interface PingPong { iterations: number; size: number; interval_us: number; rtt_p50_ns: number; rtt_p99_ns: number }

export interface FloorResult {
  /** Back to back: both processes stay hot. */
  pingpong: PingPong;
  /** Paced like the latency scenario: both wake from idle every time. */
  pingpongPaced: PingPong;
  fanout: { receivers: number; messages: number; size: number; deliveries_per_s: number }[];
}

/** Compile both programs into `buildDir`; throws with cc's message on failure. */
async function compile(srcDir: string, buildDir: string): Promise<{ pingpong: string; fanout: string }> {
  const out = { pingpong: join(buildDir, 'pingpong'), fanout: join(buildDir, 'fanout') };
  for (const name of ['pingpong', 'fanout'] as const) {
    await run('cc', ['-O2', '-Wall', '-o', out[name], join(srcDir, `${name}.c`)]);
  }
  return out;
}

export async function measureFloor(buildDir: string, opts: { iterations: number; pacedIterations: number; intervalUs: number; receivers: number[]; messages: number; sizes: number[] }): Promise<FloorResult> {
  const root = findRepoRoot();
  if (!root) throw new Error('bench/c sources not found (run from the ipnbus repository)');
  const bin = await compile(join(root, 'bench', 'c'), buildDir);
  const pp = await run(bin.pingpong, [String(opts.iterations), '64']);
  const paced = await run(bin.pingpong, [String(opts.pacedIterations), '64', String(opts.intervalUs)]);
  const result: FloorResult = { pingpong: JSON.parse(pp.stdout), pingpongPaced: JSON.parse(paced.stdout), fanout: [] };
  for (const receivers of opts.receivers) {
    for (const size of opts.sizes) {
      const fo = await run(bin.fanout, [String(receivers), String(opts.messages), String(size)]);
      result.fanout.push(JSON.parse(fo.stdout));
    }
  }
  return result;
}
