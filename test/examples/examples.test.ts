// Each example runs with its one command, exits 0 and prints what it should.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from '../cli/run-cli.js';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}/run.mjs`, import.meta.url));

// An example that hangs or dies from a signal rejects, which fails its test.
const run = (name: string) => runNode(example(name), [], { timeoutMs: 45_000 });

describe('examples', () => {
  it('notifications: service shows both, one expires, one is closed by call', async () => {
    const r = await run('notifications');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[service\] ready: org\.freedesktop\.Notifications/);
    expect(r.stdout).toMatch(/\[client\] server: ipnbus-notifications-example 0\.1\.0 \(ipnbus\), spec 1\.2; capabilities: body, actions/);
    // The service learns the caller's pid from the bus, not from the message.
    expect(r.stdout).toMatch(/\[service\] #1 from example-client \(pid \d+\): Hello - from a peer/);
    expect(r.stdout).toMatch(/\[service\] #2 from example-client \(pid \d+\): Meeting - in 5 minutes \[actions: ok, OK\]/);
    expect(r.stdout).toMatch(/\[client\] notification 1 closed: expired/);
    expect(r.stdout).toMatch(/\[client\] notification 2 closed: closed by CloseNotification/);
    expect(r.stdout).toMatch(/done: both notifications delivered and closed/);
  });

  it('pubsub: two dashboards each receive all ten readings from the sensor', async () => {
    const r = await run('pubsub');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const d of ['dashboard-1', 'dashboard-2']) {
      const lines = r.stdout.split('\n').filter((l) => l.startsWith(`[${d}] sensors.`));
      expect(lines).toHaveLength(10);
      expect(lines.filter((l) => l.includes('sensors.kitchen:'))).toHaveLength(5);
      expect(lines.filter((l) => l.includes('sensors.garage:'))).toHaveLength(5);
      expect(r.stdout).toContain(`[${d}] received all 10 readings`);
    }
    expect(r.stdout).toMatch(/\[sensor\] published 10 readings/);
  });

  it('device: properties read, target set remotely, PropertiesChanged followed, Boost applied', async () => {
    const r = await run('device');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[controller\] living room: \d+(\.\d+)? C, target 20 C, heating (on|off)/);
    expect(r.stdout).toMatch(/\[thermostat\] target set to 21/);
    expect(r.stdout).toMatch(/\[controller\] changed: Temperature = /);
    expect(r.stdout).toMatch(/\[controller\] reached 21 C/);
    expect(r.stdout).toMatch(/\[controller\] boosted: target now 22\.5 C \(read back: 22\.5 C\)/);
  });
});
