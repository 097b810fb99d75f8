// The worker side of the pool: a worker process's arguments, which only a runner passes.

/** The JSON arguments the runner forked this worker with; exits 2 with `runBy` when started by hand. */
export function readWorkerArgs<T>(runBy: string): T {
  const raw = process.argv[2];
  if (raw === undefined || process.send === undefined) {
    process.stderr.write(`${runBy}\n`);
    process.exit(2);
  }
  return JSON.parse(raw) as T;
}
