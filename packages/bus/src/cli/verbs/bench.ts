// `ipnbus bench`: ipnbus against a private dbus-daemon and dbus-broker (dbus-next clients), same run, plus the C floor.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT_FAILURE, UsageError } from '../errors.js';
import { backendOption, parseVerbArgs, type Verb } from '../verb.js';

/**
 * The harness lives in the private workspace packages/bench (it needs
 * dbus-next and the C floor's sources, which an app installing ipnbus has no
 * use for). Named through a variable so that the library neither depends on
 * it nor type-checks against it: this is the whole of the contract.
 */
const HARNESS = '@ipnbus/bench';
interface Harness {
  runBenchCommand(cmd: { mode: 'full' | 'quick' | 'smoke'; transport: 'auto' | 'kernel' | 'user'; outDir?: string }): Promise<number>;
}

/** The harness, or undefined when this installation has no packages/bench. */
async function loadHarness(): Promise<Harness | undefined> {
  try {
    return (await import(HARNESS)) as Harness;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(HARNESS)) return undefined;
    throw err;
  }
}

const help = `Usage: ipnbus bench [--quick | --smoke] [--backend auto|user|kernel] [--out DIR]

Runs the same scenarios on ipnbus and on a private dbus-daemon with dbus-next
clients, and on a private dbus-broker with the same clients where it can be
launched (dbus-broker package; without journald, only as root), in one run:
signal fan-out to 1, 4, 16, 64 subscriber processes (16-byte and 4 KiB
payloads), paced signal latency (200/s), method-call round trips (1 and 16 in
flight), CPU per delivered message and memory; and the C floor (AF_UNIX
SOCK_SEQPACKET ping-pong and fan-out, compiled with cc).

Writes DIR/bench.json, DIR/bench.md and DIR/bench.svg (default: bench/results
in the repository). The last line of output is one JSON object of ratios.

Options:
  --quick            1 and 16 subscribers, fewer messages (under two minutes)
  --smoke            a tiny run for tests (seconds)
  --backend KIND     ipnbus transport: auto (kernel when ipn.ko is loaded),
                     user or kernel (default user)
  --out DIR          where to write the reports
  -h, --help         this text
`;

export const benchVerb: Verb = {
  name: 'bench',
  summary: 'benchmark ipnbus against dbus-daemon and dbus-broker (writes bench/results/)',
  help,
  async run(argv, globals) {
    const { values, positionals } = parseVerbArgs('bench', argv, {
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      backend: { type: 'string' },
      out: { type: 'string' },
    }, globals);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'bench');
    if (values.quick && values.smoke) throw new UsageError('--quick and --smoke exclude each other', 'bench');
    const transport = backendOption('bench', values.backend, 'user');
    if (transport === 'kernel' && !existsSync('/sys/module/ipn')) {
      // Fail before minutes of baseline runs, not after.
      process.stderr.write('ipnbus bench: --backend kernel needs ipn.ko loaded (see bench/README.md for running it in the VM)\n');
      return EXIT_FAILURE;
    }
    const mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
    const harness = await loadHarness();
    if (!harness) {
      process.stderr.write(
        'ipnbus bench: the benchmark harness is not installed here. It is the private workspace packages/bench\n' +
          'of the ipnbus source repository: in a clone, `npm install` then `npm run bench` (or `npx ipnbus bench`).\n',
      );
      return EXIT_FAILURE;
    }
    const cmd: Parameters<Harness['runBenchCommand']>[0] = { mode, transport };
    if (typeof values.out === 'string') cmd.outDir = resolve(values.out);
    return harness.runBenchCommand(cmd);
  },
};
