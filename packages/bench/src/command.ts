// What `ipnbus bench` runs once it has parsed its arguments: the whole
// benchmark, its reports (bench.json, .md, .svg through the one result
// writer) and the JSON summary line scripts rely on. Returns the exit code.
import type { Mode, Transport } from './config.js';
import { createProgress } from './progress.js';
import { defaultResultsDir, writeResults } from './report/files.js';

export interface BenchCommand {
  mode: Mode;
  transport: Transport;
  /** Where the reports go; default bench/results in the repository. */
  outDir?: string;
}

export async function runBenchCommand(cmd: BenchCommand): Promise<number> {
  // Checked before anything else loads: the baselines' client, dbus-next,
  // is this workspace's dependency only, and the runner imports it.
  try {
    await import('dbus-next');
  } catch {
    process.stderr.write('ipnbus bench: the baseline runs dbus-next clients, and dbus-next is not installed here: `npm install dbus-next`\n');
    return 1;
  }
  const [{ runBench }, { renderMarkdown }, { renderSvg }] = await Promise.all([
    import('./run.js'), import('./report/bench-markdown.js'), import('./report/bench-svg.js'),
  ]);
  const outDir = cmd.outDir ?? defaultResultsDir();
  const progress = createProgress();
  let result;
  try {
    result = await runBench({ mode: cmd.mode, transport: cmd.transport, onStep: (l, i, t) => progress.step(l, i, t) });
  } finally {
    progress.stop();
  }
  const md = renderMarkdown(result);
  writeResults(outDir, 'bench', { data: result, markdown: md, svg: renderSvg(result) });
  process.stdout.write(md + '\n');
  process.stdout.write(`Reports: ${outDir}/bench.{json,md,svg}\n`);
  process.stdout.write(JSON.stringify({ mode: cmd.mode, transport: cmd.transport, ...result.summary, errors: result.errors.length }) + '\n');
  // A run where a side failed is not a benchmark result: say so by the exit code.
  return result.errors.length > 0 ? 1 : 0;
}
