// Small hand-made SVG charts (no chart library: the dashboard stays light).
export interface Datum {
  label: string;
  value: number;
  note?: string;
}

/** A bar whose value may be unknown (a rate over nothing): drawn empty, shown as "—". */
export interface MaybeDatum {
  label: string;
  value: number | null;
  note?: string;
}

const W = 520;

export function BarChart({ data, title, max, format }: { data: MaybeDatum[]; title: string; max?: number; format?: (v: number) => string }) {
  const top = max ?? Math.max(1, ...data.map((d) => d.value ?? 0));
  const rowH = 26;
  const labelW = 130;
  const h = data.length * rowH + 10;
  const fmt = format ?? ((v: number) => String(v));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-label={title} width="100%" style={{ maxWidth: W }}>
        {data.map((d, i) => {
          const w = ((W - labelW - 60) * (d.value ?? 0)) / top;
          const y = 5 + i * rowH;
          return (
            <g key={d.label}>
              <text x={labelW - 6} y={y + 16} textAnchor="end" fontSize="12">{d.label}</text>
              <rect x={labelW} y={y + 3} width={Math.max(0, w)} height={rowH - 8} fill="#0b5cad" rx="2" />
              <text x={labelW + w + 4} y={y + 16} fontSize="12">{d.value === null ? "—" : fmt(d.value)}{d.note ? ` ${d.note}` : ""}</text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function ColumnChart({ data, title }: { data: Datum[]; title: string }) {
  const top = Math.max(1, ...data.map((d) => d.value));
  const h = 200;
  const base = h - 24;
  const colW = (W - 20) / Math.max(1, data.length);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-label={title} width="100%">
        <line x1="10" x2={W - 10} y1={base} y2={base} stroke="#d0d7de" />
        {data.map((d, i) => {
          const bh = ((base - 20) * d.value) / top;
          const x = 10 + i * colW;
          return (
            <g key={d.label}>
              <rect x={x + colW * 0.2} y={base - bh} width={colW * 0.6} height={bh} fill="#0b5cad" rx="2" />
              <text x={x + colW / 2} y={base - bh - 4} textAnchor="middle" fontSize="12">{d.value}</text>
              <text x={x + colW / 2} y={h - 8} textAnchor="middle" fontSize="11">{d.label}</text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function Donut({ data, title }: { data: Datum[]; title: string }) {
  const total = data.reduce((s, d) => s + d.value, 0);
  const colors = ["#1a7f37", "#0969da", "#bf8700", "#cf222e", "#8250df"];
  let angle = -Math.PI / 2;
  const r = 70;
  const cx = 90;
  const cy = 90;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox="0 0 360 180" role="img" aria-label={title} width="100%" style={{ maxWidth: 360 }}>
        {total === 0 && <circle cx={cx} cy={cy} r={r} fill="none" stroke="#d0d7de" strokeWidth="28" />}
        {data.map((d, i) => {
          if (d.value === 0 || total === 0) return null;
          const a = (2 * Math.PI * d.value) / total;
          const end = angle + a;
          const large = a > Math.PI ? 1 : 0;
          const p = (t: number) => `${cx + r * Math.cos(t)} ${cy + r * Math.sin(t)}`;
          const path = a >= 2 * Math.PI - 1e-9
            ? `M ${cx - r} ${cy} A ${r} ${r} 0 1 1 ${cx + r} ${cy} A ${r} ${r} 0 1 1 ${cx - r} ${cy}`
            : `M ${p(angle)} A ${r} ${r} 0 ${large} 1 ${p(end)}`;
          angle = end;
          return <path key={d.label} d={path} fill="none" stroke={colors[i % colors.length]} strokeWidth="28" />;
        })}
        {data.map((d, i) => (
          <g key={d.label}>
            <rect x="190" y={20 + i * 22} width="12" height="12" fill={colors[i % colors.length]} />
            <text x="208" y={31 + i * 22} fontSize="12">{d.label} {d.value}</text>
          </g>
        ))}
      </svg>
    </figure>
  );
}
