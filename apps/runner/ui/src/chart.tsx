/** Points of a line through `values`, spread over `width`, scaled to `height` from 0 to the largest value. */
export function linePoints(values: readonly number[], width: number, height: number, pad = 2): [number, number][] {
  if (values.length === 0) return [];
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  return values.map((v, i) => [pad + i * step, height - pad - (Math.max(0, v) / max) * (height - 2 * pad)]);
}

const path = (points: readonly [number, number][]) =>
  points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');

interface ChartProps {
  readonly values: readonly number[];
  readonly width?: number;
  readonly height?: number;
  /** Read by screen readers and shown as the tooltip. */
  readonly label: string;
  readonly tone?: 'rate' | 'depth';
}

/** A small line chart as inline SVG: no chart library, nothing loaded from elsewhere. */
export function LineChart({ values, width = 160, height = 40, label, tone = 'rate' }: ChartProps) {
  const points = linePoints(values, width, height);
  const line = path(points);
  const last = points.at(-1);
  const area =
    points.length > 1 ? `${line} L${last![0].toFixed(1)},${height} L${points[0]![0].toFixed(1)},${height} Z` : '';
  return (
    <svg
      class={`chart chart-${tone}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      {points.length === 0 ? (
        <line class="chart-empty" x1="0" y1={height - 2} x2={width} y2={height - 2} />
      ) : (
        <>
          {area !== '' && <path class="chart-area" d={area} />}
          <path class="chart-line" d={line} />
          {last !== undefined && <circle class="chart-dot" cx={last[0]} cy={last[1]} r="2.5" />}
        </>
      )}
    </svg>
  );
}
