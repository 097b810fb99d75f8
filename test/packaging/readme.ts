// Reading the top-level README's code blocks, so that tests run exactly what
// it shows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CodeBlock {
  lang: string;
  code: string;
  /** The heading the block sits under. */
  section: string;
}

export function readmeBlocks(repoRoot: string): CodeBlock[] {
  const text = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const blocks: CodeBlock[] = [];
  let section = '';
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push({ lang: open.lang, code: open.lines.join('\n') + '\n', section });
        open = undefined;
      } else {
        open.lines.push(line);
      }
    } else if (line.startsWith('```')) {
      open = { lang: line.slice(3).trim(), lines: [] };
    } else if (line.startsWith('#')) {
      section = line.replace(/^#+\s*/, '');
    }
  }
  return blocks;
}

/** The one block of `lang` under `section`; throws when there is not exactly one. */
export function readmeBlock(repoRoot: string, section: string, lang: string): string {
  const found = readmeBlocks(repoRoot).filter((b) => b.section === section && b.lang === lang);
  if (found.length !== 1) throw new Error(`README: expected one \`\`\`${lang} block under "${section}", found ${found.length}`);
  return found[0]!.code;
}

/** Shell lines of a block: comments stripped, continuations joined, blank lines dropped. */
export function shellLines(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
