// The benchmarks' one reporting module (`@ipnbus/bench/report`): tables,
// charts and the result-file writer, shared by `ipnbus bench` and the
// bench/*.mjs scripts.
export { writeResults, defaultResultsDir, findRepoRoot, type ResultFiles, type WrittenPaths } from './files.js';
export { human, markdownTable, textTable, type Row } from './tables.js';
export { barChartSvg, barChartsSvg, type BarChart, type BarGroup } from './bar-chart.js';
export { escapeXml } from './escape.js';
export { renderMarkdown } from './bench-markdown.js';
export { renderSvg } from './bench-svg.js';
