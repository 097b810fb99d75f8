// gsettings set with no dconf-service running: the write starts dconf-service by activation; gsettings get, dconf read and gsettings monitor see it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { desktopSessionPerFile } from './session.js';

const DCONF = 'ca.desrt.dconf';
const s = desktopSessionPerFile(false);

describe('dconf through activation', () => {
  it('gsettings set starts dconf-service, and the value is read back and seen by gsettings monitor', async () => {
    expect(s.conn.getNameOwner(DCONF)).toBeUndefined();
    const t0 = Date.now();
    const set = await s.tool('gsettings', ['set', 'org.gnome.desktop.interface', 'clock-format', "'12h'"], 30_000);
    const ms = Date.now() - t0;
    // "failed to commit changes to dconf" is what it printed without activation.
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    console.log(`gsettings set with dconf-service started by activation: ${ms} ms`);
    expect(s.conn.getNameOwner(DCONF)).toBeDefined();
    // Written where the activation environment said (XDG_CONFIG_HOME of the session).
    expect(existsSync(join(s.dir, 'config/dconf/user'))).toBe(true);
    const get = await s.tool('gsettings', ['get', 'org.gnome.desktop.interface', 'clock-format']);
    expect(get.stdout.trim()).toBe("'12h'");
    const read = await s.tool('dconf', ['read', '/org/gnome/desktop/interface/clock-format']);
    expect(read.stdout.trim()).toBe("'12h'");

    // gsettings monitor learns of a change from dconf-service's Notify signal.
    const mon = spawn('env', [`DBUS_SESSION_BUS_ADDRESS=${s.gw.address}`, `XDG_CONFIG_HOME=${join(s.dir, 'config')}`, `XDG_RUNTIME_DIR=${join(s.dir, 'runtime')}`,
      'gsettings', 'monitor', 'org.gnome.desktop.interface', 'clock-format'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    mon.stdout.on('data', (d: Buffer) => (out += d.toString()));
    mon.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // gsettings monitor prints nothing when its match rule is in force,
      // so there is no ready line to wait for: write alternate values
      // until it reports one (each write is a full round trip to dconf).
      let value = '24h';
      const deadline = Date.now() + 15_000;
      while (!/clock-format: '(12h|24h)'/.test(out)) {
        if (Date.now() > deadline) throw new Error(`gsettings monitor saw nothing: ${out}`);
        const w = await s.tool('gsettings', ['set', 'org.gnome.desktop.interface', 'clock-format', `'${value}'`]);
        expect(w.code, w.stderr).toBe(0);
        value = value === '24h' ? '12h' : '24h';
      }
    } finally {
      mon.kill();
    }
  });
});
