import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Granularity } from '../../../shared/api.js';
import { formatUsd, formatUsdExact, userLocale } from '../format.js';
import type { Theme } from '../theme.js';

/** One stacked layer: its label, colour and exact decimal dollars per bucket. */
export interface ChartLayer {
  label: string;
  color: string;
  values: readonly string[];
}

/** Colours that stay apart for common colour blindness (Okabe–Ito first), in both themes. */
export const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#8c6bb1', '#b8a200', '#2f8f8f', '#a05a2c', '#7a7a7a'];

const X_FORMAT: Record<Granularity, Intl.DateTimeFormatOptions> = {
  hour: { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'UTC' },
  day: { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' },
  month: { year: 'numeric', month: 'long', timeZone: 'UTC' },
};

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/**
 * Stacked bars of spend per bucket, drawn by uPlot on a canvas (a year of days × dozens of layers
 * stays smooth). Each layer is drawn as the sum of itself and every layer below it, biggest sum
 * first, so later layers paint over the lower part. Hovering shows each layer's exact amount.
 */
export function SpendChart({
  buckets,
  layers,
  granularity,
  label,
  theme,
}: {
  buckets: readonly string[];
  layers: readonly ChartLayer[];
  granularity: Granularity;
  label: string;
  /** The theme in effect: the canvas is redrawn with the new colours when it changes. */
  theme: Theme;
}) {
  const container = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = container.current;
    if (!element) return undefined;
    const xs = buckets.map((iso) => Date.parse(iso) / 1000);
    // stacked[i] = layer i plus every layer after it; layer 0 is the top of the stack.
    const stacked: number[][] = layers.map(() => new Array<number>(xs.length).fill(0));
    for (let j = 0; j < xs.length; j++) {
      let running = 0;
      for (let i = layers.length - 1; i >= 0; i--) {
        running += Number(layers[i]!.values[j] ?? 0);
        stacked[i]![j] = running;
      }
    }
    const dateFormat = new Intl.DateTimeFormat(userLocale(), X_FORMAT[granularity]);
    const axisColor = cssVar('--text-muted', '#555');
    const gridColor = cssVar('--border', '#ddd');
    const bars = uPlot.paths.bars!({ size: [0.8, 48], gap: 1 });
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 320),
      height: 320,
      padding: [12, 12, 0, 0],
      cursor: { y: false, points: { show: false }, drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: true, range: (_u, min, max) => [min - (xs[1]! - xs[0]! || 3600) / 2, max + (xs[1]! - xs[0]! || 3600) / 2] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } },
      axes: [
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } },
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor }, size: 70, values: (_u, ticks) => ticks.map((tick) => formatUsd(String(tick))) },
      ],
      series: [
        { label: 'Bucket (UTC)', value: (_u, value) => (value == null ? '—' : dateFormat.format(new Date(value * 1000))) },
        ...layers.map((layer) => ({
          label: layer.label,
          stroke: layer.color,
          fill: layer.color,
          width: 0,
          paths: bars,
          points: { show: false },
          value: (u: uPlot, _value: number | null, _series: number, index: number | null) => {
            const at = index ?? u.cursor.idx;
            return at == null ? '—' : formatUsdExact(layer.values[at] ?? '0');
          },
        })),
      ],
    };
    const chart = new uPlot(options, [xs, ...stacked] as uPlot.AlignedData, element);
    // Only a new width redraws: the live legend changes the element's height on every hover.
    let width = options.width;
    const resize =
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver(() => {
            const next = Math.max(element.clientWidth, 320);
            if (next === width) return;
            width = next;
            chart.setSize({ width, height: 320 });
          });
    resize?.observe(element);
    return () => {
      resize?.disconnect();
      chart.destroy();
    };
  }, [buckets, layers, granularity, theme]);

  return <div ref={container} className="spend-chart" role="img" aria-label={label} />;
}
