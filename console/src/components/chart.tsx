// Charts drawn as SVG: bars for counts, lines for latency. A few dozen lines here cost less than
// a charting library's hundred kilobytes on first paint, and follow the page's colours.
import { clock } from "./format.js";

interface Series {
  label: string;
  values: Array<number | null>;
  kind: "bar" | "line";
  className: string;
}

const W = 600;
const H = 160;
const PAD = { left: 52, right: 8, top: 10, bottom: 22 };

export function Chart({
  title,
  starts,
  series,
  format,
}: {
  title: string;
  starts: number[];
  series: Series[];
  format: (v: number) => string;
}) {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = Math.max(1e-9, ...all);
  const n = Math.max(starts.length, 1);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (i * innerW) / n;
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const barWidth = Math.max(1, innerW / n - 2) / series.filter((s) => s.kind === "bar").length;
  let barIndex = 0;
  const summary = series
    .map((s) => {
      const last = [...s.values].reverse().find((v) => v !== null);
      return `${s.label}: latest ${last === undefined || last === null ? "none" : format(last)}`;
    })
    .join("; ");
  return (
    <figure class="chart">
      <figcaption>
        {title}
        <span class="legend">
          {series.map((s) => (
            <span key={s.label} class={`key ${s.className}`}>
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}. ${summary}`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} />
            <text class="axis" x={PAD.left - 4} y={y(max * f) + 4} text-anchor="end">
              {format(max * f)}
            </text>
          </g>
        ))}
        {starts.length > 0 && (
          <>
            <text class="axis" x={PAD.left} y={H - 4}>
              {clock(starts[0] ?? 0)}
            </text>
            <text class="axis" x={W - PAD.right} y={H - 4} text-anchor="end">
              {clock(starts[starts.length - 1] ?? 0)}
            </text>
          </>
        )}
        {series.map((s) => {
          if (s.kind === "bar") {
            const offset = barIndex++ * barWidth;
            return (
              <g key={s.label} class={s.className}>
                {s.values.map((v, i) =>
                  v === null || v === 0 ? null : (
                    <rect
                      key={i}
                      x={x(i) + 1 + offset}
                      y={y(v)}
                      width={barWidth}
                      height={PAD.top + innerH - y(v)}
                    >
                      <title>{`${clock(starts[i] ?? 0)} ${s.label}: ${format(v)}`}</title>
                    </rect>
                  ),
                )}
              </g>
            );
          }
          const points = s.values
            .map((v, i) => (v === null ? null : ([x(i) + innerW / n / 2, y(v), i, v] as const)))
            .filter((p) => p !== null);
          // dots as well as the line: a lone point in a quiet window still shows
          return (
            <g key={s.label} class={s.className}>
              <polyline class="line" points={points.map(([px, py]) => `${px},${py}`).join(" ")} />
              {points.map(([px, py, i, v]) => (
                <circle key={i} class="dot" cx={px} cy={py} r={2.5}>
                  <title>{`${clock(starts[i] ?? 0)} ${s.label}: ${format(v)}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
