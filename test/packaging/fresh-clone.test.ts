// A newcomer's first minutes, on a fresh clone with ONE `npm install`: the
// `ipnbus` command is linked and starts (npx resolves it without a second
// install) and says its version; and every command the top-level README
// shows runs as written: `npm install && npm start`, `npm test` (as the
// command CI runs), and the gateway steps with busctl and gdbus.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshClone, run, type FreshClone } from './fresh-clone.js';
import { readmeBlocks, shellLines } from './readme.js';

let clone: FreshClone;

beforeAll(async () => {
  clone = await freshClone();
  console.log(`fresh clone: npm install took ${(clone.installMs / 1000).toFixed(1)} s`);
}, 660_000);

afterAll(async () => {
  await clone?.remove();
});

describe('after one npm install of a fresh clone', () => {
  it('npx --no-install ipnbus --help lists the verbs', async () => {
    const r = await run('npx', ['--no-install', 'ipnbus', '--help'], { cwd: clone.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ipnbus /);
    expect(r.stdout).toMatch(/^ {2}demo\s/m);
  });

  it('npx --no-install ipnbus --version (and -V) print the package version', async () => {
    const pkg = JSON.parse(await readFile(join(clone.dir, 'packages', 'bus', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await run('npx', ['--no-install', 'ipnbus', flag], { cwd: clone.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
  });
});

describe("the README's commands, on the fresh clone", () => {
  /** The README's sh blocks by the section they sit in: each is run (or accounted for) below. */
  const blocks = () => readmeBlocks(clone.dir).filter((b) => b.lang === 'sh');

  it('every sh block of the README is one this file runs, or one accounted for elsewhere', () => {
    const known = ['ipnbus', 'Use it in your app', 'Stock D-Bus clients: the gateway', 'The kernel module'];
    expect(blocks().map((b) => b.section)).toEqual(known);
    // `npm install ipnbus` needs the registry: test/packaging/install-tarballs
    // installs the packed tarballs instead, as the README says to until then.
    expect(shellLines(blocks()[1]!.code)).toEqual(['npm install ipnbus']);
    // Building and loading ipn.ko needs root and the kernel's headers: the VM
    // suite (scripts/test-kernel.sh, run by `npm test`) does exactly this.
    expect(shellLines(blocks()[3]!.code)).toEqual(['make -C kernel && sudo insmod kernel/ipn.ko']);
    // Every `npx ipnbus` line sits in a block this file runs.
    const npxBlocks = blocks().filter((b) => b.code.includes('npx ipnbus')).map((b) => b.section);
    expect(npxBlocks).toEqual(['Stock D-Bus clients: the gateway']);
  });

  it('the first two commands: `npm install && npm start` runs the demo; `npm test` is what CI runs', async () => {
    expect(shellLines(blocks()[0]!.code)).toEqual(['npm install && npm start', 'npm test']);
    // `npm install` is the one the clone was set up with.
    const start = await run('npm', ['start'], { cwd: clone.dir, timeoutMs: 90_000 });
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/private bus ipnbus:path=\S+, backend (user|kernel)/);
    expect(start.stdout).toMatch(/subscriber-1: [1-9]\d* Ticks received \(\d+\/s\), 0 missing in the sequence; [1-9]\d* calls ok/);
    expect(start.stdout).toContain('Cleaned up');
    // Running `npm test` here would run this very file again: check instead
    // that CI's entry point ends by running it, and that it is defined.
    const ci = (await readFile(join(clone.dir, '.ci', 'run'), 'utf8')).trim().split('\n');
    expect(ci[ci.length - 1]).toBe('npm test');
    const pkg = JSON.parse(await readFile(join(clone.dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/vitest run/);
  }, 120_000);

  it('the gateway steps: busctl and gdbus list the bus through `npx ipnbus gateway`', async () => {
    const gateway = blocks()[2]!;
    const runtime = await mkdtemp(join(tmpdir(), 'ipnbus-readme-xdg-'));
    try {
      // The block as written, plus: wait for a backgrounded gateway's socket
      // before the next line, and stop background jobs at the end, each as
      // its process group (set -m): npx's child, the gateway, with it.
      const script = ['set -eum', 'trap \'for p in $(jobs -p); do kill -- -$p 2>/dev/null || true; done\' EXIT'];
      for (const line of shellLines(gateway.code)) {
        script.push(line);
        const listen = /--listen unix:path=(\S+)\s*&$/.exec(line);
        if (listen) script.push(`for i in $(seq 300); do [ -S "${listen[1]}" ] && break; sleep 0.1; done`);
      }
      const r = await run('bash', ['-c', script.join('\n')], {
        cwd: clone.dir, env: { ...process.env, XDG_RUNTIME_DIR: runtime, IPNBUS_ADDRESS: '', DBUS_SESSION_BUS_ADDRESS: '' }, timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      // busctl's table has the bus driver and at least the gateway's clients;
      // gdbus prints ListNames' reply.
      expect(r.stdout).toMatch(/^org\.freedesktop\.DBus\s/m);
      expect(r.stdout).toMatch(/^\(\['org\.freedesktop\.DBus', .*':1\.\d+'/m);
    } finally {
      await rm(runtime, { recursive: true, force: true });
    }
  }, 90_000);
});
