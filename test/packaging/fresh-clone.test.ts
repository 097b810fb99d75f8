// A newcomer's first minutes, on a fresh clone with ONE `npm install`: the
// `ipnbus` command is linked and starts (npx resolves it without a second
// install), and says its version.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshClone, run, type FreshClone } from './fresh-clone.js';

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
