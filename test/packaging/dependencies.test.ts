// Each published package (and the private bench workspace) depends at run time on exactly what its code uses:
// every package its sources import is in "dependencies", and every entry of
// "dependencies" is imported (or, for the addon, used by its build).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fresh-clone.js';

const PACKAGES = [
  { dir: 'native', sources: ['index.cjs', 'binding.gyp', 'scripts'] },
  { dir: 'packages/transport-ipn', sources: ['src'] },
  { dir: 'packages/bus', sources: ['src', 'bin'] },
  // Private, but held to the same rule: it is where dbus-next and cli-progress went.
  { dir: 'packages/bench', sources: ['src'] },
];

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
}

/** The package name of a bare specifier ('@a/b/c' -> '@a/b', 'x/y' -> 'x'), or null for relative and builtin ones. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  return builtinModules.includes(name) ? null : name;
}

/** Packages named by import/export/require/import() with a literal, or by require('x') inside a gyp file. */
function usedPackages(dir: string, sources: string[]): Set<string> {
  const used = new Set<string>();
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\(\s*(?:\\?["'])?|\bimport\s+)['"]([^'"]+)['"]/g;
  for (const src of sources) {
    for (const file of filesUnder(join(REPO_ROOT, dir, src))) {
      if (!/\.(ts|js|cjs|mjs|gyp)$/.test(file) || file.endsWith('.d.ts')) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(pattern)) {
        const name = packageOf(m[1]!);
        if (name) used.add(name);
      }
    }
  }
  return used;
}

describe.each(PACKAGES)('$dir', ({ dir, sources }) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const declared = new Set(Object.keys(pkg.dependencies ?? {}));
  const used = usedPackages(dir, sources);

  it('declares every package its code imports', () => {
    expect([...used].filter((n) => !declared.has(n))).toEqual([]);
  });

  it('imports every package it declares', () => {
    expect([...declared].filter((n) => !used.has(n))).toEqual([]);
  });
});
