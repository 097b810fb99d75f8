// `npm run bench:pubsub` (bench/pubsub.mjs): the pub/sub benchmark, its
// reports through the one result writer, and the JSON summary as the last
// line of stdout. Returns the exit code.
import { withProgress } from '../progress.js';
import { defaultResultsDir, publishResults } from '../report/files.js';
import type { PubsubMode } from './config.js';

const USAGE = 'usage: bench/pubsub.mjs [--quick | --smoke] [--out DIR]\n';

export async function runPubsubCommand(argv: string[]): Promise<number> {
  let mode: PubsubMode = 'full';
  let outDir = defaultResultsDir();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick' || a === '--smoke') {
      if (mode !== 'full') {
        process.stderr.write(`--quick and --smoke exclude each other\n${USAGE}`);
        return 2;
      }
      mode = a === '--quick' ? 'quick' : 'smoke';
    } else if (a === '--out' && argv[i + 1] !== undefined) {
      outDir = argv[++i]!;
    } else {
      process.stderr.write(`unknown argument '${a}'\n${USAGE}`);
      return 2;
    }
  }
  // ZeroMQ is one side of every cell: without its addon there is no comparison to make.
  try {
    await import('zeromq');
  } catch (err) {
    process.stderr.write(`bench:pubsub: the ZeroMQ side needs the zeromq package (a devDependency of packages/bench) and its prebuilt addon, which did not load: ${String((err as Error)?.message ?? err).split('\n')[0]}\n`);
    return 1;
  }
  const [{ runPubsub }, { renderPubsubMarkdown, renderPubsubSvg }] = await Promise.all([import('./run.js'), import('./report.js')]);
  const result = await withProgress((onStep) => runPubsub({ mode, onStep }));
  publishResults(outDir, 'pubsub', { data: result, markdown: renderPubsubMarkdown(result), svg: renderPubsubSvg(result) },
    { mode, ...result.summary, load_start: result.machine.loadStart[0], load_end: result.machine.loadEnd[0], errors: result.errors.length });
  return result.errors.length > 0 ? 1 : 0;
}
