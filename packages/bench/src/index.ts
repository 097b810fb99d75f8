// @ipnbus/bench: the benchmark harness of the ipnbus repository (a private
// workspace, never published). `ipnbus bench` loads it by name; the
// bench/*.mjs scripts use its reporting (`@ipnbus/bench/report`) and timing
// (`@ipnbus/bench/timing`).
export { runBenchCommand, type BenchCommand } from './command.js';
export type { Mode, Transport } from './config.js';
export type { BenchResult, Summary } from './results.js';
