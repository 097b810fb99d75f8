// `ipnbus bench --smoke` runs every side for real and ends with the JSON line scripts rely on.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const KEYS = [
  'fanout16_small_ratio', 'latency_p50_ratio', 'call_p50_ratio', 'call_vs_floor', 'latency_vs_floor', 'call_vs_node_floor',
  'switches16_small_daemon', 'switches16_small_ipnbus', 'gateway_fanout16_vs_daemon', 'gateway_call_p50_vs_daemon', 'gateway_call_native_p50_vs_daemon', 'gateway_connect_p50_vs_daemon',
];
const BROKER_KEYS = ['fanout16_small_vs_broker', 'latency_p50_vs_broker', 'call_p50_vs_broker'];

/** dbus-broker is the third side wherever its package is installed (CI installs it). */
function brokerInstalled(): boolean {
  try {
    execFileSync('which', ['dbus-broker-launch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

it('bench --smoke measures every side and prints the ratios as its last line', async () => {
  const out = await mkdtemp(join(tmpdir(), 'ipnbus-bench-test-'));
  try {
    const r = await runCli(['bench', '--smoke', '--out', out], { timeoutMs: 290_000 });
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
    // Stock clients over the gateway: every subscriber got every Tick, and the gateway's own process counts.
    const gw16 = json.gateway.fanout[0].sides['ipnbus-gateway'];
    expect(gw16.received).toBe(gw16.expected);
    expect(gw16.cpuUsPerDelivery).toBeGreaterThan(0);
    expect(json.gateway.connect['ipnbus-gateway'].n).toBeGreaterThan(0);
    // The smoke run has no 4 KiB or 64-subscriber rows: those keys are there, and null.
    expect(last.fanout16_4k_vs_c_floor).toBeNull();
    expect(last.fanout64_small_vs_broker).toBeNull();
    expect(await readFile(join(out, 'bench.svg'), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);

    if (brokerInstalled()) {
      // Installed means measured: a broker that cannot be launched is a failure here, not a footnote.
      expect(json.baselines.dbusBroker, json.baselines.dbusBroker).toMatch(/^dbus-broker \d+/);
      for (const k of BROKER_KEYS) {
        expect(typeof last[k], `${k} in ${JSON.stringify(last)}`).toBe('number');
        expect(last[k] as number).toBeGreaterThan(0);
      }
      const broker16 = json.fanout.find((f: { subscribers: number }) => f.subscribers === 16).sides['dbus-broker'];
      expect(broker16.received).toBe(broker16.expected);
      expect(broker16.cpuUsPerDelivery).toBeGreaterThan(0);
      // The launcher and the broker are both counted.
      expect(json.memory['dbus-broker'].busProcessRssKiB).toBeGreaterThan(1000);
      expect(json.calls[0].sides['dbus-broker'].n).toBeGreaterThan(0);
    } else {
      expect(json.baselines.dbusBroker).toMatch(/not measured/);
      for (const k of BROKER_KEYS) expect(last[k]).toBeNull();
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 300_000);

it('bench without dbus-next says how to get it, and exits 1 before measuring', async () => {
  const hook = fileURLToPath(new URL('./fixtures/without-dbus-next.mjs', import.meta.url));
  const r = await runCli(['bench', '--smoke'], { env: { NODE_OPTIONS: `--import=${hook}` }, timeoutMs: 20_000 });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('npm install dbus-next');
  expect(r.stdout).toBe('');
  // Other verbs do not need it.
  const help = await runCli(['list', '--help'], { env: { NODE_OPTIONS: `--import=${hook}` } });
  expect(help.code).toBe(0);
});
