// Runs an example's processes on a private bus in a temporary directory (no
// daemon, no root), prefixes their output, and removes everything at the end.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export async function privateBus(name) {
  const dir = await mkdtemp(join(tmpdir(), `ipnbus-example-${name}-`));
  const address = `ipnbus:path=${join(dir, 'bus')}`;
  const env = { ...process.env, IPNBUS_ADDRESS: address };
  const children = [];

  /** Start `node script args...` on this bus; its lines are echoed as "[label] ...". */
  function start(label, script, args = []) {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const waiters = [];
    const lines = [];
    const onLine = (line) => {
      process.stdout.write(`[${label}] ${line}\n`);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', (l) => process.stderr.write(`[${label}] ${l}\n`));
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    const proc = {
      child,
      lines,
      exited,
      /** Resolves with the first line (already seen or future) matching `re`. */
      waitFor(re, timeoutMs = 15_000) {
        const seen = lines.find((l) => re.test(l));
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${label}: no line matching ${re} within ${timeoutMs} ms`)), timeoutMs);
          const w = { re, resolve: (l) => { clearTimeout(timer); resolve(l); } };
          waiters.push(w);
          exited.then((code) => {
            if (waiters.includes(w)) {
              clearTimeout(timer);
              reject(new Error(`${label} exited (${code}) before printing a line matching ${re}`));
            }
          });
        });
      },
      stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
    children.push(proc);
    return proc;
  }

  async function close() {
    await Promise.all(children.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  }

  return { address, env, start, close };
}

/** Run `main(bus)`, always clean up, and exit 0 only if it resolved. */
export async function runExample(name, main) {
  const bus = await privateBus(name);
  console.log(`Private bus for this example: ${bus.address} (no daemon; removed at the end)`);
  let code = 0;
  try {
    await main(bus);
  } catch (err) {
    console.error(`example failed: ${err?.message ?? err}`);
    code = 1;
  } finally {
    await bus.close();
  }
  process.exit(code);
}
