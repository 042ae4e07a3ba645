/**
 * A small, dependency-free SVG bar chart of the speed ratios: one group per timed metric, one
 * horizontal bar per implementation, logarithmic axis, the reference at 1.
 *
 * @module
 */

export interface ChartGroup {
  readonly title: string;
  readonly bars: readonly { readonly series: string; readonly value: number | null }[];
}

export interface Chart {
  readonly title: string;
  readonly subtitle: string;
  readonly series: readonly { readonly id: string; readonly label: string }[];
  readonly groups: readonly ChartGroup[];
}

const PALETTE = ['#d1495b', '#f29e4c', '#2e4057', '#4f6d7a', '#66a182', '#8d96a3', '#a77dc2'];

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const fmt = (v: number): string =>
  v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(1);

/** Render `chart` as an SVG document. */
export function renderChart(chart: Chart): string {
  const values = chart.groups.flatMap((g) =>
    g.bars.map((b) => b.value).filter((v): v is number => v !== null && v > 0),
  );
  const lo = Math.floor(Math.log10(Math.min(1, ...values)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(1, ...values))));
  const longest = Math.max(...chart.series.map((s) => s.label.length));
  const left = Math.round(24 + longest * 6.8);
  const width = left + 700;
  const right = 70;
  const plot = width - left - right;
  const x = (v: number): number => left + ((Math.log10(v) - lo) / (hi - lo)) * plot;
  const barH = 13;
  const barGap = 4;
  const groupHead = 22;
  const groupGap = 14;
  const legendRows = Math.ceil(chart.series.length / 3);
  const top = 62 + legendRows * 18;
  const groupHeight = (g: ChartGroup): number =>
    groupHead + g.bars.length * (barH + barGap) + groupGap;
  const height = top + chart.groups.reduce((s, g) => s + groupHeight(g), 0) + 30;
  const color = new Map(chart.series.map((s, i) => [s.id, PALETTE[i % PALETTE.length] as string]));

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(height)}" ` +
      `viewBox="0 0 ${String(width)} ${String(height)}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600">${esc(chart.title)}</text>`,
    `<text x="16" y="42" fill="#555">${esc(chart.subtitle)}</text>`,
  );
  chart.series.forEach((s, i) => {
    const lx = 16 + (i % 3) * Math.round((width - 32) / 3);
    const ly = 58 + Math.floor(i / 3) * 18;
    out.push(
      `<rect x="${String(lx)}" y="${String(ly)}" width="12" height="12" fill="${color.get(s.id) ?? '#999'}"/>`,
      `<text x="${String(lx + 18)}" y="${String(ly + 10)}">${esc(s.label)}</text>`,
    );
  });
  // Grid: every power of ten, the reference line at 1 in bold.
  const gridBottom = height - 30;
  for (let e = lo; e <= hi; e++) {
    const v = 10 ** e;
    const gx = x(v).toFixed(1);
    out.push(
      `<line x1="${gx}" y1="${String(top - 6)}" x2="${gx}" y2="${String(gridBottom)}" ` +
        `stroke="${e === 0 ? '#222' : '#ddd'}" stroke-width="${e === 0 ? '1.5' : '1'}"/>`,
      `<text x="${gx}" y="${String(gridBottom + 16)}" text-anchor="middle" fill="#555">${String(Number(v.toPrecision(1)))}x</text>`,
    );
  }
  let y = top;
  for (const g of chart.groups) {
    out.push(`<text x="16" y="${String(y + 14)}" font-weight="600">${esc(g.title)}</text>`);
    y += groupHead;
    for (const b of g.bars) {
      const label = chart.series.find((s) => s.id === b.series)?.label ?? b.series;
      out.push(
        `<text x="${String(left - 8)}" y="${String(y + barH - 2)}" text-anchor="end" fill="#333">${esc(label)}</text>`,
      );
      if (b.value === null || b.value <= 0) {
        out.push(
          `<text x="${String(left + 4)}" y="${String(y + barH - 2)}" fill="#999">n/a</text>`,
        );
      } else {
        const x0 = x(10 ** lo);
        const x1 = x(b.value);
        out.push(
          `<rect x="${x0.toFixed(1)}" y="${String(y)}" width="${Math.max(1, x1 - x0).toFixed(1)}" ` +
            `height="${String(barH)}" fill="${color.get(b.series) ?? '#999'}"/>`,
          `<text x="${(x1 + 4).toFixed(1)}" y="${String(y + barH - 2)}" fill="#333">${fmt(b.value)}x</text>`,
        );
      }
      y += barH + barGap;
    }
    y += groupGap;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
