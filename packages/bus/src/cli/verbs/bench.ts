// `ipnbus bench`: ipnbus against a private dbus-daemon and dbus-broker (dbus-next clients), same run, plus the C floor.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makeParents } from '@ipnbus/transport-ipn';
import type { Mode } from '../../bench/config.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../errors.js';
import { createProgress } from '../progress.js';
import { backendOption, parseVerbArgs, type Verb } from '../verb.js';

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
    const { values, positionals, help: wantHelp } = parseVerbArgs('bench', argv, {
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      backend: { type: 'string' },
      out: { type: 'string' },
    }, globals);
    if (wantHelp) {
      process.stdout.write(help);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'bench');
    if (values.quick && values.smoke) throw new UsageError('--quick and --smoke exclude each other', 'bench');
    const transport = backendOption('bench', values.backend, 'user');
    if (transport === 'kernel' && !existsSync('/sys/module/ipn')) {
      // Fail before minutes of baseline runs, not after.
      process.stderr.write('ipnbus bench: --backend kernel needs ipn.ko loaded (see bench/README.md for running it in the VM)\n');
      return EXIT_FAILURE;
    }
    const mode: Mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
    // Loaded here, not at the top: the baseline's client, dbus-next, is a
    // development dependency, and no other verb should need it (or pay for
    // loading it).
    try {
      await import('dbus-next');
    } catch {
      process.stderr.write('ipnbus bench: the baseline runs dbus-next clients, and dbus-next is not installed here: `npm install dbus-next`\n');
      return EXIT_FAILURE;
    }
    const [{ findRepoRoot }, { renderMarkdown }, { renderSvg }, { runBench }] = await Promise.all([
      import('../../bench/floor.js'), import('../../bench/report-md.js'),
      import('../../bench/report-svg.js'), import('../../bench/run.js'),
    ]);
    const root = findRepoRoot();
    const outDir = typeof values.out === 'string' ? resolve(values.out) : join(root ?? process.cwd(), 'bench', 'results');

    const progress = createProgress();
    let result;
    try {
      result = await runBench({ mode, transport, onStep: (l, i, t) => progress.step(l, i, t) });
    } finally {
      progress.stop();
    }
    makeParents(outDir);
    const md = renderMarkdown(result);
    await writeFile(join(outDir, 'bench.json'), JSON.stringify(result, null, 2) + '\n');
    await writeFile(join(outDir, 'bench.md'), md);
    await writeFile(join(outDir, 'bench.svg'), renderSvg(result));
    process.stdout.write(md + '\n');
    process.stdout.write(`Reports: ${join(outDir, 'bench.{json,md,svg}')}\n`);
    process.stdout.write(JSON.stringify({ mode, transport, ...result.summary, errors: result.errors.length }) + '\n');
    // A run where a side failed is not a benchmark result: say so by the exit code.
    return result.errors.length > 0 ? EXIT_FAILURE : EXIT_OK;
  },
};
