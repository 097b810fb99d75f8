// What an app author's machine looks like to the packaging tests: a PATH
// with node, npm, npx and a few basic tools but no cc, gcc, g++, make or
// python3, and an environment without the npm_* variables of the npm that
// runs the test suite.
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The tools a compile would need: none of them may be on the sandbox PATH. */
export const TOOLCHAIN = ['cc', 'gcc', 'g++', 'c++', 'make', 'python3', 'python'];

/** Basic tools npm and its scripts may spawn. */
const BASICS = ['sh', 'env', 'cat', 'ls', 'rm', 'mkdir', 'cp', 'mv', 'chmod', 'ln', 'uname'];

function find(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

/** Make `dir` (one directory, the whole PATH) with links to node, npm, npx and BASICS only. */
export async function makeToolchainFreePath(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await symlink(process.execPath, join(dir, 'node'));
  for (const tool of ['npm', 'npx', ...BASICS]) {
    const found = find(tool);
    if (!found) {
      if (BASICS.includes(tool)) continue;
      throw new Error(`${tool} is not on PATH`);
    }
    await symlink(realpathSync(found), join(dir, tool));
  }
  return dir;
}

/** process.env without npm's lifecycle variables, with PATH replaced. */
export function appEnv(path: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE') env[k] = v;
  }
  return { ...env, PATH: path, ...extra };
}
