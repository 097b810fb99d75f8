// The CLI's dispatcher: global options, one verb, exit status (0 ok, 1
// runtime failure, 2 usage error). main.ts runs it on the process; tests run
// it in-process with their own output.
import { readFileSync } from 'node:fs';
import { EXIT_FAILURE, EXIT_USAGE, HelpRequested, UsageError } from './errors.js';
import type { CliOutput, GlobalOptions, Verb } from './verb.js';
import { VERBS } from './verbs/index.js';

/** The installed package's version: dist/cli/main.js sits two levels below package.json. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function topHelp(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length));
  return [
    'Usage: ipnbus [--address ipnbus:path=DIR] [-v] VERB [ARGS...]',
    '',
    'A D-Bus-compatible message bus with no broker. Verbs:',
    ...VERBS.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
    '',
    'Global options (before or after the verb):',
    '  --address ADDR   bus address (default $IPNBUS_ADDRESS, else',
    '                   ipnbus:path=$XDG_RUNTIME_DIR/ipnbus/session)',
    '  -v, --verbose    log to stderr',
    '  -h, --help       help; `ipnbus VERB --help` for one verb',
    '  -V, --version    print the version and exit',
    '',
    'Exit status: 0 ok, 1 runtime failure, 2 usage error.',
    '',
  ].join('\n');
}

/** Split leading global options from the verb and its own arguments. */
function splitGlobals(argv: string[]): { globals: GlobalOptions; verb?: string; rest: string[]; help: boolean; version: boolean } {
  const globals: GlobalOptions = { verbose: false };
  let help = false;
  let version = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--address') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError('--address needs a value');
      globals.address = v;
    } else if (a.startsWith('--address=')) {
      globals.address = a.slice('--address='.length);
    } else if (a === '-v' || a === '--verbose') {
      globals.verbose = true;
    } else if (a === '-h' || a === '--help') {
      help = true;
    } else if (a === '-V' || a === '--version') {
      version = true;
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option '${a}' before the verb`);
    } else {
      break;
    }
  }
  const verb = argv[i];
  const out: { globals: GlobalOptions; verb?: string; rest: string[]; help: boolean; version: boolean } = {
    globals, rest: argv.slice(i + 1), help, version,
  };
  if (verb !== undefined) out.verb = verb;
  return out;
}

export type { CliOutput };

const processOutput: CliOutput = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Runs the command line `argv` (without node and the script); resolves with the exit status. */
export async function runCommand(argv: string[], io: CliOutput = processOutput): Promise<number> {
  let verb: Verb | undefined;
  try {
    const split = splitGlobals(argv);
    if (split.version) {
      io.stdout(`${packageVersion()}\n`);
      return 0;
    }
    if (split.verb === undefined) {
      if (split.help) {
        io.stdout(topHelp());
        return 0;
      }
      io.stderr(topHelp());
      return EXIT_USAGE;
    }
    verb = VERBS.find((v) => v.name === split.verb);
    if (!verb) throw new UsageError(`unknown verb '${split.verb}'`);
    if (split.help) {
      io.stdout(verb.help);
      return 0;
    }
    return await verb.run(split.rest, split.globals, io);
  } catch (err) {
    if (err instanceof HelpRequested && verb) {
      io.stdout(verb.help);
      return 0;
    }
    if (err instanceof UsageError) {
      const name = err.verb ?? verb?.name;
      io.stderr(`ipnbus${name ? ` ${name}` : ''}: ${err.message}\n`);
      io.stderr(name ? `Try 'ipnbus ${name} --help'.\n` : "Try 'ipnbus --help'.\n");
      return EXIT_USAGE;
    }
    const e = err as Error & { name?: string };
    // D-Bus errors carry their error name (e.g. org.freedesktop.DBus.Error.ServiceUnknown): show it.
    const label = e?.name && e.name.includes('.') ? `${e.name}: ` : '';
    io.stderr(`ipnbus${verb ? ` ${verb.name}` : ''}: ${label}${e?.message ?? String(err)}\n`);
    if (process.env.IPNBUS_DEBUG) io.stderr(`${e?.stack ?? ''}\n`);
    return EXIT_FAILURE;
  }
}
