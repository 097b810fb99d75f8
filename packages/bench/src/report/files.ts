// The one writer of benchmark results: every benchmark (ipnbus bench, wire,
// transport, kernel fan-out) leaves NAME.json, NAME.md and, when it has a
// chart, NAME.svg in one directory, by default bench/results (ignored by git:
// runs never dirty the tree; the runs the READMEs quote are kept in
// bench/published).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Walk up from this file to the repository root (the directory holding bench/c). */
export function findRepoRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'bench', 'c', 'pingpong.c'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** bench/results in the repository, else ./bench-results under the working directory. */
export function defaultResultsDir(): string {
  const root = findRepoRoot();
  return root ? join(root, 'bench', 'results') : join(process.cwd(), 'bench-results');
}

export interface ResultFiles {
  /** Any JSON-serialisable value; bigints are written as decimal strings. */
  data: unknown;
  /** The whole .md text. */
  markdown: string;
  svg?: string;
}

export interface WrittenPaths {
  json: string;
  md: string;
  svg?: string;
}

/** Write DIR/NAME.json, .md and (when given) .svg, creating DIR; returns their paths. */
export function writeResults(dir: string, name: string, files: ResultFiles): WrittenPaths {
  mkdirSync(dir, { recursive: true });
  const paths: WrittenPaths = { json: join(dir, `${name}.json`), md: join(dir, `${name}.md`) };
  writeFileSync(paths.json, JSON.stringify(files.data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  writeFileSync(paths.md, files.markdown.endsWith('\n') ? files.markdown : files.markdown + '\n');
  if (files.svg !== undefined) {
    paths.svg = join(dir, `${name}.svg`);
    writeFileSync(paths.svg, files.svg.endsWith('\n') ? files.svg : files.svg + '\n');
  }
  return paths;
}

/**
 * Writes DIR/NAME.json, .md and .svg, then prints the markdown, where the
 * reports are, and `summary` as one JSON line, the last line of stdout
 * (what scripts read).
 */
export function publishResults(dir: string, name: string, files: ResultFiles, summary: object): void {
  writeResults(dir, name, files);
  process.stdout.write(files.markdown + '\n');
  process.stdout.write(`Reports: ${dir}/${name}.{json,md,svg}\n`);
  process.stdout.write(JSON.stringify(summary) + '\n');
}
