// The worker side of the pool: a worker process's arguments, which only a
// runner passes, and the loop that runs the runner's commands.

/** The JSON arguments the runner forked this worker with; exits 2 with `runBy` when started by hand. */
export function readWorkerArgs<T>(runBy: string): T {
  const raw = process.argv[2];
  if (raw === undefined || process.send === undefined) {
    process.stderr.write(`${runBy}\n`);
    process.exit(2);
  }
  return JSON.parse(raw) as T;
}

/** Sends one report to the runner. */
export function reportToRunner(r: object): void {
  process.send?.(r);
}

function reportError(err: unknown): void {
  reportToRunner({ t: 'error', message: (err as Error)?.stack ?? String(err) });
}

/** What a worker does with each command but 'exit' (a promise's failure is reported to the runner). */
export type CommandHandlers<C extends { t: string }> = {
  [K in Exclude<C['t'], 'exit'>]: (cmd: Extract<C, { t: K }>) => unknown;
};

/**
 * Runs the runner's commands with `handlers`; on 'exit', or when the runner
 * goes away (no orphan left behind), closes the client and exits 0. Tells
 * the runner it is ready.
 */
export function serveRunner<C extends { t: string }>(handlers: CommandHandlers<C>, close: () => unknown): void {
  const exit = (): void => {
    Promise.resolve()
      .then(close)
      .catch(reportError)
      .finally(() => process.exit(0));
  };
  process.on('message', (cmd: C) => {
    if (cmd.t === 'exit') return exit();
    const handle = handlers[cmd.t as Exclude<C['t'], 'exit'>] as (c: C) => unknown;
    try {
      const done = handle(cmd);
      if (done instanceof Promise) done.catch(reportError);
    } catch (err) {
      reportError(err);
    }
  });
  process.on('disconnect', exit);
  reportToRunner({ t: 'ready', pid: process.pid });
}

/** Runs a worker's main; a failure is reported to the runner, then the worker exits 1. */
export function runWorker(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    reportError(err);
    process.exit(1);
  });
}
