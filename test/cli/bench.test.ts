// `ipnbus bench --smoke` runs both sides for real and ends with the JSON line scripts rely on.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const KEYS = ['fanout16_small_ratio', 'latency_p50_ratio', 'call_p50_ratio', 'call_vs_floor', 'latency_vs_floor'];

it('bench --smoke measures both sides and prints the ratios as its last line', async () => {
  const out = await mkdtemp(join(tmpdir(), 'ipnbus-bench-test-'));
  try {
    const r = await runCli(['bench', '--smoke', '--out', out], { timeoutMs: 170_000 });
    const lines = r.stdout.trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
    expect(last.mode).toBe('smoke');
    for (const k of KEYS) {
      expect(typeof last[k], `${k} in ${JSON.stringify(last)}\n${r.stdout}`).toBe('number');
      expect(last[k] as number).toBeGreaterThan(0);
    }
    expect(last.errors).toBe(0);
    expect(r.code).toBe(0);
    // The reports exist and agree with the JSON line.
    const json = JSON.parse(await readFile(join(out, 'bench.json'), 'utf8'));
    expect(json.summary.call_p50_ratio).toBe(last.call_p50_ratio);
    expect(json.fanout.find((f: { subscribers: number }) => f.subscribers === 16).sides.ipnbus.received).toBeGreaterThan(0);
    expect(await readFile(join(out, 'bench.md'), 'utf8')).toMatch(/\| 16 \| small \|/);
    expect(await readFile(join(out, 'bench.svg'), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 180_000);
