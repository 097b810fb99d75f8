// A GtkApplication under Xvfb stays single-instance over ipnbus: the second instance hands its command line to the first and exits.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../gateway/helpers.js';
import { desktopSessionPerFile } from './session.js';

// Debian's python3-gi is for the system python, whatever python3 is first on PATH.
const PYTHON = '/usr/bin/python3';
const APP = join(import.meta.dirname, 'fixtures/single-instance.py');
const s = desktopSessionPerFile(true);

describe('GtkApplication single instance', () => {
  it('the second instance passes its command line to the first and exits; the first quits when told', async () => {
    const primary = spawn('env', [`DBUS_SESSION_BUS_ADDRESS=${s.gw.address}`, `DISPLAY=${s.display}`, PYTHON, APP, 'first'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    primary.stdout.on('data', (d: Buffer) => (out += d.toString()));
    primary.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => primary.once('close', (code) => resolve(code)));
    try {
      await until(() => out.includes('primary first\n') || primary.exitCode !== null, 20_000, `the first instance (${err})`);
      expect(s.conn.getNameOwner('org.ipnbus.test.SingleInstance')).toBeDefined();
      const second = await s.tool(PYTHON, [APP, 'second', 'with args']);
      expect(second.code, second.stderr).toBe(0);
      // The second process did not become an instance of its own.
      expect(second.stdout).toBe('');
      await until(() => out.includes('remote second with args\n'), 10_000, 'the first instance to get the command line');
      const quit = await s.tool(PYTHON, [APP, 'quit']);
      expect(quit.code, quit.stderr).toBe(0);
      expect(await exited).toBe(0);
      expect(out).toBe('primary first\nremote second with args\nremote quit\n');
    } finally {
      if (primary.exitCode === null) primary.kill();
    }
  });
});
