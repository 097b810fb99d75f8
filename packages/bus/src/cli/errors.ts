// Error types the CLI maps to exit codes: usage mistakes (2) vs runtime failures (1).

/** The command line itself is wrong: unknown verb, bad option, missing argument. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly verb?: string) {
    super(message);
  }
}

/** `ipnbus VERB --help`: the dispatcher prints the verb's help and exits 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
  constructor(readonly verb: string) {
    super(`help for ${verb}`);
  }
}

/** Exit codes, kept in one place so tests and scripts can rely on them. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
