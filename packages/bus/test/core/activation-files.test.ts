// Activation's parsers: Exec= quoting as the D-Bus spec says (shell-like, no expansions), and .service files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Activator,
  parseExecLine,
  parseServiceFile,
  readActivationConfig,
  sessionServiceDirs,
  writeActivationConfig,
} from '../../src/core/activation/index.js';
import { logger } from '../../src/core/logger.js';

describe('Exec= quoting', () => {
  it('splits on blanks and honours single quotes, double quotes and backslashes', () => {
    expect(parseExecLine('/usr/bin/dunst')).toEqual(['/usr/bin/dunst']);
    expect(parseExecLine('  /bin/prog   a\tb  ')).toEqual(['/bin/prog', 'a', 'b']);
    expect(parseExecLine(`/bin/prog 'two words' "and \\"quoted\\"" plain\\ space`)).toEqual(['/bin/prog', 'two words', 'and "quoted"', 'plain space']);
    // Single quotes keep everything, backslashes included; adjacent parts join.
    expect(parseExecLine(`/bin/prog 'a\\b'"c"d`)).toEqual(['/bin/prog', 'a\\bcd']);
    // In double quotes only \\ \" \` \$ and newline are escapes.
    expect(parseExecLine('/bin/prog "\\$HOME \\n \\\\"')).toEqual(['/bin/prog', '$HOME \\n \\']);
    // No expansions: $VAR and ~ reach the program as written.
    expect(parseExecLine('/bin/prog $HOME ~ *')).toEqual(['/bin/prog', '$HOME', '~', '*']);
    expect(parseExecLine(`/bin/prog ''`)).toEqual(['/bin/prog', '']);
  });

  it('refuses unterminated quotes and empty lines with Spawn.FileInvalid', () => {
    for (const bad of [`/bin/prog 'open`, '/bin/prog "open', '/bin/prog \\', '', '   ']) {
      expect(() => parseExecLine(bad)).toThrow(expect.objectContaining({ name: 'org.freedesktop.DBus.Error.Spawn.FileInvalid' }));
    }
  });
});

describe('.service files', () => {
  it('reads Name, Exec and SystemdService from [D-BUS Service] only', () => {
    const text = '# comment\n[Other]\nName=not.this\n\n[D-BUS Service]\nName = org.example.A\nExec=/bin/a --x\nSystemdService=a.service\nUser=ignored\n';
    expect(parseServiceFile(text, '/p/a.service').file).toEqual({ name: 'org.example.A', exec: '/bin/a --x', systemdService: 'a.service', path: '/p/a.service' });
  });

  it('says why a file is unusable', () => {
    expect(parseServiceFile('[D-BUS Service]\nExec=/bin/a\n', 'x').why).toMatch(/no Name=/);
    expect(parseServiceFile('[D-BUS Service]\nName=:1.2\nExec=/bin/a\n', 'x').why).toMatch(/not a valid well-known bus name/);
    expect(parseServiceFile('[D-BUS Service]\nName=org.example.A\n', 'x').why).toMatch(/neither Exec= nor SystemdService=/);
    expect(parseServiceFile('[D-BUS Service\nName=org.example.A\n', 'x').why).toMatch(/bad group header/);
  });
});

describe('session service directories', () => {
  it('configured first, then $XDG_DATA_HOME, then each absolute $XDG_DATA_DIRS entry', () => {
    expect(sessionServiceDirs(['/etc/extra'], { HOME: '/home/u', XDG_DATA_HOME: '/d/home', XDG_DATA_DIRS: '/a:relative:/b/' })).toEqual([
      '/etc/extra', '/d/home/dbus-1/services', '/a/dbus-1/services', '/b/dbus-1/services',
    ]);
    expect(sessionServiceDirs([], { HOME: '/home/u' })).toEqual([
      '/home/u/.local/share/dbus-1/services', '/usr/local/share/dbus-1/services', '/usr/share/dbus-1/services',
    ]);
  });
});

describe("the bus's activation.json", () => {
  const withBus = (body: (bus: string) => void): void => {
    const bus = mkdtempSync(join(tmpdir(), 'ipnbus-actcfg-'));
    try {
      body(bus);
    } finally {
      rmSync(bus, { recursive: true, force: true });
    }
  };

  it('defaults: on, no extra directories, 25000 ms for a service to start (dbus-daemon\'s service_start_timeout)', () => {
    withBus((bus) => {
      expect(readActivationConfig(bus)).toEqual({ enabled: true, serviceDirs: [], serviceStartTimeoutMs: 25_000 });
      writeFileSync(join(bus, 'activation.json'), '{}');
      expect(readActivationConfig(bus).serviceStartTimeoutMs).toBe(25_000);
    });
  });

  it('serviceStartTimeoutMs round-trips, from 1 ms to 2^31-1', () => {
    withBus((bus) => {
      for (const ms of [1, 1500, 120_000, 0x7fffffff]) {
        writeActivationConfig(bus, { serviceStartTimeoutMs: ms });
        expect(readActivationConfig(bus).serviceStartTimeoutMs).toBe(ms);
      }
    });
  });

  it('a bad serviceStartTimeoutMs is an error naming the field and the range, when read and when written', () => {
    withBus((bus) => {
      for (const bad of [0, -5, 1.5, 0x80000000, '1500', null, true]) {
        writeFileSync(join(bus, 'activation.json'), JSON.stringify({ serviceStartTimeoutMs: bad }));
        expect(() => readActivationConfig(bus)).toThrow(
          expect.objectContaining({
            name: 'org.freedesktop.DBus.Error.Failed',
            message: `${join(bus, 'activation.json')}: "serviceStartTimeoutMs" must be a whole number of milliseconds from 1 to 2147483647, got ${JSON.stringify(bad)}`,
          }),
        );
        expect(() => writeActivationConfig(bus, { serviceStartTimeoutMs: bad as number })).toThrow(
          expect.objectContaining({ name: 'org.freedesktop.DBus.Error.InvalidArgs', message: expect.stringMatching(/^"serviceStartTimeoutMs" must be a whole number of milliseconds from 1 to 2147483647/) }),
        );
      }
    });
  });

  it("a connection's activation.timeoutMs is checked the same way", () => {
    withBus((bus) => {
      const host = { busPath: bus, busAddress: `ipnbus:path=${bus}`, ownerOf: () => undefined, startUnit: async () => undefined, log: logger };
      expect(() => new Activator(host, { timeoutMs: 0 })).toThrow(/activation\.timeoutMs must be a whole number of milliseconds from 1 to 2147483647, got 0/);
      expect(() => new Activator(host, { timeoutMs: 300 })).not.toThrow();
    });
  });
});
