// The shape of one CLI verb and the shared option parsing every verb uses.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

/** Options every verb accepts, wherever they appear on the line. */
export interface GlobalOptions {
  address?: string;
  verbose: boolean;
}

export interface Verb {
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** Full help text printed by `ipnbus <verb> --help`. */
  help: string;
  /** Resolves to the process exit code. */
  run(argv: string[], globals: GlobalOptions): Promise<number>;
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
  help: boolean;
}

/**
 * Parse a verb's arguments strictly. node:util's own errors (unknown option,
 * missing value) become UsageError so they exit 2 with the verb named.
 */
export function parseVerbArgs(
  verb: string,
  argv: string[],
  options: OptionSpecs,
  inherited: GlobalOptions,
): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, verb);
  }
  const values = parsed.values as Parsed['values'];
  const address = typeof values.address === 'string' ? values.address : inherited.address;
  const globals: GlobalOptions = { verbose: values.verbose === true || inherited.verbose };
  if (address !== undefined) globals.address = address;
  return { values, positionals: parsed.positionals, globals, help: values.help === true };
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
