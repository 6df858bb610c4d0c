// A small SVG line chart for the benches' figures in docs/: stacked panels sharing one x axis,
// each with its own y scale, series drawn as step lines (the values are sampled, and a replica
// count is a step function). No dependency: the figures are a few hundred points.

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [x: number, y: number])[];
  /** Drawn dashed. */
  readonly dashed?: boolean;
}

export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
  /** Lower end of the y axis (default 0). */
  readonly yMin?: number;
}

const W = 880;
const PANEL_H = 170;
const LEFT = 70;
const RIGHT = 170;
const TOP = 34;
const GAP = 34;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" axis maximum and tick step covering `max`. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`);

/** The chart: `title` on top, one panel per entry, x in seconds labelled `xLabel`. */
export function lineChart(title: string, xLabel: string, panels: readonly Panel[]): string {
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xMax = Math.max(1, ...xs);
  const plotW = W - LEFT - RIGHT;
  const height = TOP + panels.length * (PANEL_H + GAP) + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${height}" fill="white"/>`,
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = TOP + i * (PANEL_H + GAP) + 16;
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
    const yMin = panel.yMin ?? 0;
    const { top, step } = niceScale(Math.max(yMin + 1e-9, ...ys) - yMin);
    const sx = (x: number) => LEFT + (x / xMax) * plotW;
    const sy = (y: number) => y0 + PANEL_H - ((y - yMin) / top) * PANEL_H;
    out.push(`<text x="${LEFT}" y="${y0 - 6}" font-weight="bold">${esc(panel.title)}</text>`);
    for (let v = 0; v <= top + 1e-9; v += step) {
      const y = sy(yMin + v).toFixed(1);
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${LEFT - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(yMin + v)}</text>`);
    }
    const xStep = niceScale(xMax).step;
    for (let x = 0; x <= xMax + 1e-9; x += xStep) {
      out.push(`<line x1="${sx(x)}" x2="${sx(x)}" y1="${y0 + PANEL_H}" y2="${y0 + PANEL_H + 4}" stroke="#888"/>`);
      if (i === panels.length - 1)
        out.push(`<text x="${sx(x)}" y="${y0 + PANEL_H + 16}" text-anchor="middle">${fmt(x)}</text>`);
    }
    out.push(`<rect x="${LEFT}" y="${y0}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#888"/>`);
    panel.series.forEach((s, k) => {
      const pts = s.points.filter(([, y]) => Number.isFinite(y));
      if (pts.length > 0) {
        let d = `M${sx(pts[0]![0]).toFixed(1)},${sy(pts[0]![1]).toFixed(1)}`;
        for (let j = 1; j < pts.length; j++) d += `H${sx(pts[j]![0]).toFixed(1)}V${sy(pts[j]![1]).toFixed(1)}`;
        const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
        out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
      }
      const ly = y0 + 14 + k * 18;
      out.push(
        `<line x1="${W - RIGHT + 12}" x2="${W - RIGHT + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" ` +
          `stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
      out.push(`<text x="${W - RIGHT + 42}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
    });
  });
  const lastY = TOP + panels.length * (PANEL_H + GAP) + 6;
  out.push(`<text x="${LEFT + plotW / 2}" y="${lastY}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
