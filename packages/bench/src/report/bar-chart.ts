// A grouped horizontal bar chart as SVG text, for benchmarks whose report is
// "these contenders, these cases" (wire, transport, kernel fan-out).
import { escapeXml } from './escape.js';
import { human } from './tables.js';

export interface BarGroup {
  name: string;
  bars: { label: string; value: number }[];
}

export interface BarChart {
  title: string;
  unit?: string;
  groups: BarGroup[];
  /** log10-scaled bar lengths, so a 100x gap stays readable. */
  log?: boolean;
}

const PALETTE = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#c53030', '#718096'];

const LABEL_W = 190;
const CHART_W = 480;
const VALUE_W = 90;
const WIDTH = LABEL_W + CHART_W + VALUE_W + 40;

/** The chart; a label keeps its colour across groups. */
export function barChartSvg(chart: BarChart): string {
  return barChartsSvg([chart]);
}

/**
 * Several charts one under the other in one SVG, each with its own title
 * and scale (figures in different units side by side, e.g. deliveries/s
 * and instructions per delivery).
 */
export function barChartsSvg(charts: readonly BarChart[]): string {
  const parts: string[] = [];
  let y = 0;
  for (const chart of charts) y = panel(chart, y, parts);
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    `</svg>`,
  ].join('\n');
}

/** One chart's elements from @y0 down, into @parts; returns where it ends. */
function panel({ title, unit = '', groups, log = false }: BarChart, y0: number, parts: string[]): number {
  const barH = 18;
  const gap = 6;
  const groupGap = 16;
  const all = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0);
  const max = Math.max(1, ...all);
  const min = log && all.length > 0 ? Math.min(...all) / 2 : 0;
  const scale = (v: number): number => {
    if (v <= 0) return 0;
    if (!log) return (v / max) * CHART_W;
    return Math.max(2, ((Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * CHART_W);
  };
  const labels = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.label)))];
  const color = (label: string) => PALETTE[labels.indexOf(label) % PALETTE.length];
  parts.push(`<text x="8" y="${y0 + 22}" font-size="15" font-weight="bold">${escapeXml(title)}${log ? ' (log scale)' : ''}</text>`);
  let y = y0 + 40;
  for (const g of groups) {
    parts.push(`<text x="8" y="${y + 12}" font-weight="bold">${escapeXml(g.name)}</text>`);
    y += 18;
    for (const b of g.bars) {
      const w = scale(b.value);
      parts.push(`<text x="16" y="${y + barH - 5}">${escapeXml(b.label)}</text>`);
      parts.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color(b.label)}"/>`);
      parts.push(`<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + barH - 5}">${escapeXml(human(b.value))}${escapeXml(unit ? ' ' + unit : '')}</text>`);
      y += barH + gap;
    }
    y += groupGap;
  }
  return y;
}
