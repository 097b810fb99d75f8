// The shape of one CLI verb and the shared option parsing every verb uses.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HelpRequested, UsageError } from './errors.js';

/** Options every verb accepts, wherever they appear on the line. */
export interface GlobalOptions {
  address?: string;
  verbose: boolean;
}

/** Where the dispatcher and a verb's --help write (the process's streams, or a test's). */
export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Verb {
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** Full help text printed by `ipnbus <verb> --help`. */
  help: string;
  /** Resolves to the process exit code; `io` takes the help text (the verb's own output goes to the process). */
  run(argv: string[], globals: GlobalOptions, io: CliOutput): Promise<number>;
}

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS: OptionSpecs = {
  address: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  globals: GlobalOptions;
  /** Always false: -h/--help throws HelpRequested, answered by the dispatcher (monitor.ts still checks it). */
  help: false;
}

/**
 * Parse a verb's arguments strictly. node:util's own errors (unknown option,
 * missing value) become UsageError so they exit 2 with the verb named;
 * -h/--help throws HelpRequested, so the dispatcher prints the verb's help
 * (every verb answered it with the same four lines).
 */
export function parseVerbArgs(
  verb: string,
  argv: string[],
  options: OptionSpecs,
  inherited: GlobalOptions,
  rawAfter?: number,
): Parsed {
  const all = { ...GLOBAL_OPTIONS, ...options };
  const [head, tail] = rawAfter === undefined ? [argv, []] : splitRaw(argv, rawAfter, all);
  let parsed;
  try {
    parsed = parseArgs({
      args: head,
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, verb);
  }
  const values = parsed.values as Parsed['values'];
  if (values.help === true) throw new HelpRequested(verb);
  const address = typeof values.address === 'string' ? values.address : inherited.address;
  const globals: GlobalOptions = { verbose: values.verbose === true || inherited.verbose };
  if (address !== undefined) globals.address = address;
  return { values, positionals: [...parsed.positionals, ...tail], globals, help: false };
}

/**
 * Split off everything after the `count`-th positional as raw words, so value
 * arguments like "-5" are never mistaken for options (busctl-style call/emit).
 */
function splitRaw(argv: string[], count: number, options: OptionSpecs): [string[], string[]] {
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [argv.slice(0, i), argv.slice(i + 1)];
    if (a.startsWith('-') && a !== '-') {
      const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : undefined;
      const spec = name !== undefined ? options[name] : Object.values(options).find((o) => o.short === a.slice(1, 2));
      if (spec?.type === 'string' && !a.includes('=') && (name !== undefined || a.length === 2)) i++;
      continue;
    }
    if (++seen === count) return [argv.slice(0, i + 1), argv.slice(i + 1)];
  }
  return [argv, []];
}

/** Parse a non-negative integer option, or fail as a usage error. */
export function intOption(verb: string, name: string, raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--${name} expects a non-negative integer, got '${String(raw)}'`, verb);
  }
  return n;
}

/** The transport a verb that creates a bus may be told to use. */
export type BackendOption = 'auto' | 'user' | 'kernel';

/** Parse --backend, or fail as a usage error. */
export function backendOption(verb: string, raw: unknown, fallback: BackendOption): BackendOption {
  if (raw === undefined) return fallback;
  if (raw === 'auto' || raw === 'user' || raw === 'kernel') return raw;
  throw new UsageError(`--backend must be auto, user or kernel, not '${String(raw)}'`, verb);
}
