// Exec= of a .service file split into argv with the shell-like quoting the D-Bus spec prescribes.
import { DBusError } from '../errors.js';
import { ActivationErrors } from './errors.js';

/** Characters a backslash escapes inside double quotes (as in sh); before any other it stays. */
const DQ_ESCAPABLE = new Set(['"', '\\', '`', '$', '\n']);

/**
 * Splits an Exec= value as a POSIX shell would split a simple command,
 * without expansions: whitespace separates words; '...' is literal; "..."
 * is literal but for backslash before " \ ` $ and newline; a backslash
 * outside quotes takes the next character literally (backslash-newline
 * joins lines). No variables, globs or redirections: the program runs
 * directly. Throws Spawn.FileInvalid for an unterminated quote or an empty
 * line.
 */
export function parseExecLine(line: string): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const bad = (why: string): DBusError => new DBusError(ActivationErrors.FileInvalid, `Exec= line ${JSON.stringify(line)}: ${why}`);
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw bad('unterminated single quote');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      for (;;) {
        if (i >= line.length) throw bad('unterminated double quote');
        const d = line[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && DQ_ESCAPABLE.has(line[i + 1]!)) {
          if (line[i + 1] !== '\n') word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw bad('a backslash ends the line');
      if (line[i + 1] !== '\n') {
        word += line[i + 1];
        inWord = true;
      }
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) argv.push(word);
  if (argv.length === 0) throw bad('no program to run');
  return argv;
}
