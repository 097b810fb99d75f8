// `npm run bench:pubsub -- --smoke` runs all three sides for real (ipnbus
// publish/subscribe, raw signals, ZeroMQ) and ends with the JSON line scripts rely on.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runNode } from './run-cli.js';

const SCRIPT = fileURLToPath(new URL('../../bench/pubsub.mjs', import.meta.url));
const KEYS = ['pubsub_vs_signal_min', 'pubsub_vs_zmq_min', 'signal_vs_zmq_min', 'pubsub_p50_vs_zmq_max', 'pubsub_p99_vs_zmq_max'];

it('bench:pubsub --smoke measures every side in every cell and prints the ratios as its last line', async () => {
  const out = await mkdtemp(join(tmpdir(), 'ipnbus-pubsub-bench-test-'));
  try {
    const r = await runNode(SCRIPT, ['--smoke', '--out', out], { timeoutMs: 110_000 });
    const lines = r.stdout.trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
    expect(last.mode).toBe('smoke');
    for (const k of KEYS) {
      expect(typeof last[k], `${k} in ${JSON.stringify(last)}\n${r.stderr}`).toBe('number');
      expect(last[k] as number).toBeGreaterThan(0);
    }
    // Lossless sides lose nothing; ZeroMQ with its high-water marks at 0 neither.
    expect([last.lost_publish, last.lost_signal, last.lost_zmq]).toEqual([0, 0, 0]);
    expect(last.errors).toBe(0);
    expect(r.code).toBe(0);
    const json = JSON.parse(await readFile(join(out, 'pubsub.json'), 'utf8'));
    expect(json.cells).toHaveLength(4);
    for (const cell of json.cells) {
      for (const side of ['publish', 'signal', 'zmq']) {
        const s = cell.sides[side];
        expect(s.received, `${side} ${cell.subscribers}/${cell.payload}`).toBe(s.expected);
        expect(s.cpuUsPerDelivery).toBeGreaterThan(0);
        expect(s.switchesPerDelivery).toBeGreaterThan(0);
        expect(s.p99Us).toBeGreaterThanOrEqual(s.p50Us);
      }
    }
    expect(json.summary.pubsub_vs_zmq_min).toBe(last.pubsub_vs_zmq_min);
    expect(await readFile(join(out, 'pubsub.md'), 'utf8')).toMatch(/\| 4 \| 4k \|/);
    expect(await readFile(join(out, 'pubsub.svg'), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 120_000);

it('bench:pubsub refuses unknown arguments with its usage', async () => {
  const r = await runNode(SCRIPT, ['--fast'], { timeoutMs: 20_000 });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("unknown argument '--fast'");
  expect(r.stderr).toContain('usage: bench/pubsub.mjs');
});
