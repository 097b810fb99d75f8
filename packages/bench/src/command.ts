// What `ipnbus bench` runs once it has parsed its arguments: the whole
// benchmark, its reports (bench.json, .md, .svg through the one result
// writer) and the JSON summary line scripts rely on. Returns the exit code.
import type { Mode, Transport } from './config.js';
import { withProgress } from './progress.js';
import { defaultResultsDir, publishResults } from './report/files.js';

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
  const result = await withProgress((onStep) => runBench({ mode: cmd.mode, transport: cmd.transport, onStep }));
  publishResults(outDir, 'bench', { data: result, markdown: renderMarkdown(result), svg: renderSvg(result) },
    { mode: cmd.mode, transport: cmd.transport, ...result.summary, errors: result.errors.length });
  // A run where a side failed is not a benchmark result: say so by the exit code.
  return result.errors.length > 0 ? 1 : 0;
}
