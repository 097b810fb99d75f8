#!/usr/bin/env node
// The `ipnbus` command: runs the dispatcher (dispatch.ts) on this process and exits with its status.
import { EXIT_FAILURE } from './errors.js';
import { runCommand } from './dispatch.js';

// Exit explicitly: a verb may leave sockets or timers behind on failure paths,
// and the exit code must still be the one we chose.
runCommand(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`ipnbus: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
