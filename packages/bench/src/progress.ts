// Progress reporting for long verbs: a cli-progress bar on a terminal, plain lines otherwise (logs, CI, tests).
import cliProgress from 'cli-progress';

export interface Progress {
  step(label: string, index: number, total: number): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    return {
      step(label, index, total) {
        stream.write(`[${index + 1}/${total}] ${label}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({
    stream,
    format: '{bar} {value}/{total} | {label}',
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    step(label, index, total) {
      if (!started) {
        bar.start(total, index, { label });
        started = true;
      } else {
        bar.update(index, { label });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Runs a benchmark with its steps on a progress bar (on stderr), stopped however the run ends. */
export async function withProgress<T>(run: (onStep: (label: string, index: number, total: number) => void) => Promise<T>): Promise<T> {
  const progress = createProgress();
  try {
    return await run((label, index, total) => progress.step(label, index, total));
  } finally {
    progress.stop();
  }
}
