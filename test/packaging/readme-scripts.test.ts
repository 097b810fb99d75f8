// Every `npm run <script>` a README in the repository names is a script that
// exists where the README says to run it (the root, or the workspace given
// with -w), so no README shows a command a fresh clone cannot run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const READMES = ['README.md', 'bench/README.md', 'kernel/README.md', 'native/README.md',
  'packages/bench/README.md', 'packages/bus/README.md', 'packages/transport-ipn/README.md'];

function scriptsOf(dir: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return pkg.scripts ?? {};
}

/** Workspace directory of a package name given to `npm run -w`. */
function workspaceDir(name: string): string {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const dir = rootPkg.workspaces.find((w) => (JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')) as { name: string }).name === name);
  if (dir === undefined) throw new Error(`no workspace named ${name}`);
  return dir;
}

describe("the READMEs' npm run commands", () => {
  for (const readme of READMES) {
    it(`${readme}: every npm run names a defined script`, () => {
      const text = readFileSync(join(root, readme), 'utf8');
      const commands = [...text.matchAll(/npm run ([a-z][a-z0-9:-]*)((?: -w \S+)?)/g)];
      const missing = commands.filter(([, script, ws]) => {
        const dir = ws === undefined || ws === '' ? '.' : workspaceDir(ws.trim().slice(3).replace(/`$/, ''));
        return scriptsOf(dir)[script!] === undefined;
      }).map(([cmd]) => cmd);
      expect(missing).toEqual([]);
    });
  }
});
