// Pub/sub benchmark: ipnbus `publish`/`subscribe`, ipnbus raw signals and
// ZeroMQ PUB/SUB over ipc://, same payloads (16 B, 4 KiB), same process layout
// (1, 4, 16 subscriber processes), in one run (packages/bench/src/pubsub).
//
//   npm run bench:pubsub              the full run (a few minutes)
//   npm run bench:pubsub -- --quick   fewer messages
//   npm run bench:pubsub -- --smoke   seconds (test/cli/bench-pubsub.test.ts)
//   ... --out DIR                     reports elsewhere than bench/results
//
// Writes pubsub.{json,md,svg}; the last line of stdout is one JSON object.
import { runPubsubCommand } from '@ipnbus/bench/pubsub';

process.exitCode = await runPubsubCommand(process.argv.slice(2));
