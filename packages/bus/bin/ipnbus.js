#!/usr/bin/env node
// The `ipnbus` command as npm links it: a tracked file, so the link exists
// from the first `npm install` of a fresh clone (npm links bins before the
// root postinstall has compiled dist/, and skips a bin whose target is
// missing). It only loads the compiled CLI, or says how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write(
    `ipnbus: the CLI is not built (${fileURLToPath(cli)} is missing).\n` +
      'In a clone of the repository, run `npm install` (or `npm run build`) at its root.\n',
  );
  process.exit(1);
}
await import(cli.href);
