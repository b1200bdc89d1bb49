// Charts for the reports (uPlot: small, maintained, canvas). A canvas says nothing to a
// screen reader, so every chart is a <figure> whose caption names it and whose figures are
// also in a table next to it (collapsed behind a "Show the figures" toggle).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  title: string;
  /** Category labels (hours, days, products…), one per point. */
  labels: string[];
  series: { name: string; values: number[]; color: string }[];
  /** How a value reads (money from minor units, counts). */
  format: (v: number) => string;
  kind?: 'bars' | 'line';
  height?: number;
}

export function Chart({ title, labels, series, format, kind = 'bars', height = 260 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || labels.length === 0) return;
    const xs = labels.map((_, i) => i);
    const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 60] }) : undefined;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth || 600),
      height,
      legend: { show: series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
      axes: [
        { stroke: '#cbd5e1', grid: { show: false }, values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? labels[t] ?? '' : '')), incrs: [1], size: 40 },
        { stroke: '#cbd5e1', grid: { stroke: '#334155' }, values: (_u, ticks) => ticks.map((t) => format(Math.round(t))), size: 110 },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.name,
          stroke: s.color,
          fill: kind === 'bars' ? s.color : undefined,
          width: 2,
          paths: kind === 'bars' ? bars : undefined,
          points: { show: kind === 'line' },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(Math.round(v))),
        })),
      ],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify(labels), JSON.stringify(series), kind, height]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {labels.length === 0 ? <p class="muted">Nothing in this range.</p> : <div ref={box} class="chart-canvas" aria-hidden="true" />}
      {labels.length > 0 && (
        <details>
          <summary>Show the figures</summary>
          <table class="grid">
            <caption class="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">{' '}</th>
                {series.map((s) => (
                  <th scope="col" key={s.name}>
                    {s.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {labels.map((l, i) => (
                <tr key={l + i}>
                  <th scope="row">{l}</th>
                  {series.map((s) => (
                    <td class="money" key={s.name}>
                      {format(s.values[i] ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}
