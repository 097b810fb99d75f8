// The tracked bin shim (packages/bus/bin/ipnbus.js): runs the compiled CLI,
// prints the version, and says how to build when dist/ is missing.
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT, run } from './fresh-clone.js';

const SHIM = join(REPO_ROOT, 'packages', 'bus', 'bin', 'ipnbus.js');

it('--version and -V print the version from packages/bus/package.json', async () => {
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'packages', 'bus', 'package.json'), 'utf8')) as { version: string };
  expect(version).toMatch(/^\d+\.\d+\.\d+/);
  for (const flag of ['--version', '-V']) {
    const r = await run(process.execPath, [SHIM, flag]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  }
});

it('without dist/ the shim names the missing file and the command that builds it', async () => {
  const pkg = await mkdtemp(join(tmpdir(), 'ipnbus-shim-'));
  try {
    await mkdir(join(pkg, 'bin'));
    await copyFile(SHIM, join(pkg, 'bin', 'ipnbus.js'));
    const r = await run(process.execPath, [join(pkg, 'bin', 'ipnbus.js'), '--help']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(pkg, 'dist', 'cli', 'main.js'));
    expect(r.stderr).toContain('npm install');
    expect(r.stdout).toBe('');
  } finally {
    await rm(pkg, { recursive: true, force: true });
  }
});
