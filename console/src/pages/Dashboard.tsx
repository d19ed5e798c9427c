// 统计 KPI dashboard over GET /kpis for a period and an organisation: trend by month, tier
// distribution of resolved cases, 按期办结率 by unit, the headline rates, and the ranking of
// 承办单位 (who held the work) for the monthly 通报.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { KpiReportOut } from "../api/types";
import { errorText, TIER } from "../app/format";
import { href } from "../app/router";
import { useSession } from "../app/session";
import { Banner, Loading } from "../components/bits";
import { BarChart, ColumnChart, Donut } from "../components/charts";

function monthsBack(period: string, n: number): string[] {
  const [y, m] = period.split("-").map(Number);
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(y, m - 1 - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}

function thisMonth(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);

export function DashboardPage() {
  const { me } = useSession();
  const [period, setPeriod] = useState(thisMonth());
  const [orgs, setOrgs] = useState<{ id: string; name: string }[]>([]);
  const [org, setOrg] = useState<string>("");
  useEffect(() => {
    // The units a report may cover: the county, townships and villages within reach.
    api
      .orgs({ kind: ["county", "township", "village"], scope: "jurisdiction" })
      .then((list) => setOrgs(list.map((o) => ({ id: o.id, name: o.name }))))
      .catch(() => setOrgs((me?.grants ?? []).map((g) => ({ id: g.org_id, name: g.org_id }))));
  }, [me]);
  const [report, setReport] = useState<KpiReportOut | null>(null);
  // undefined: loading; null: no trend (not a month, or it failed).
  const [trend, setTrend] = useState<{ label: string; value: number }[] | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true; // a slower answer for an earlier period must not overwrite this one
    setError(null);
    setReport(null);
    api
      .kpis(period, org || undefined)
      .then((r) => current && setReport(r))
      .catch((e) => current && setError(errorText(e)));
    if (/^\d{4}-\d{2}$/.test(period)) {
      setTrend(undefined);
      const months = monthsBack(period, 6);
      Promise.all(months.map((p) => api.kpis(p, org || undefined)))
        .then((rs) => {
          if (current) setTrend(rs.map((r, i) => ({ label: months[i].slice(2), value: r.total.counts.registered ?? 0 })));
        })
        .catch(() => current && setTrend(null));
    } else setTrend(null);
    return () => {
      current = false;
    };
  }, [period, org]);

  const rates = report?.total.rates ?? {};
  return (
    <section>
      <h1>统计分析</h1>
      <div className="toolbar">
        <label className="row" style={{ margin: 0 }}>
          期间 <input aria-label="期间" value={period} placeholder="2026-10 / 2026-Q4 / 2026" onChange={(e) => setPeriod(e.target.value.trim())} />
        </label>
        <select aria-label="单位" value={org} onChange={(e) => setOrg(e.target.value)}>
          <option value="">本人辖区</option>
          {orgs.map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
        </select>
      </div>
      {error && <Banner kind="error">{error}</Banner>}
      {!report && !error && <Loading />}
      {report && (
        <>
          <p className="muted">
            {report.name} · {report.period} · 受理{" "}
            <strong data-testid="kpi-registered">{report.total.counts.registered ?? 0}</strong> 件 · 办结{" "}
            {report.total.counts.closed ?? 0} 件 · 超期 {report.total.counts.overdue ?? 0} 件
          </p>
          <div className="row" data-testid="kpi-headline">
            {["按期办结率", "办结率", "超期率", "化解率", "满意率", "响应率"].map((k) => (
              <div className="card" key={k} style={{ minWidth: 120 }}>
                <div className="muted">{k}</div>
                <div style={{ fontSize: "1.4rem", fontWeight: 600 }}>{pct(rates[k]?.value)}</div>
                <div className="muted">{rates[k] ? `${rates[k].numerator}/${rates[k].denominator}` : ""}</div>
              </div>
            ))}
          </div>
          <div className="two-col">
            <div className="card">
              {trend ? (
                <ColumnChart title="受理数（近6个月）" data={trend} />
              ) : trend === undefined ? (
                <Loading />
              ) : (
                <p className="muted">趋势仅在按月查询时显示。</p>
              )}
            </div>
            <div className="card">
              <Donut title="化解层级分布" data={Object.entries(report.total.resolved_by_tier).map(([k, v]) => ({ label: TIER[k] ?? k, value: v }))} />
            </div>
          </div>
          <div className="card">
            <BarChart
              title="按期办结率（按单位）"
              max={1}
              format={pct}
              data={report.units.map((u) => {
                const r = u.rates["按期办结率"];
                return { label: u.name, value: r?.value ?? null, note: r ? `(${r.numerator}/${r.denominator})` : "" };
              })}
            />
          </div>
          {report.ranking.length > 0 && (
            <div className="card">
              <h2>承办单位排名（月度通报）</h2>
              <p className="muted">得分 = 按期办结率×50 + 化解率×30 + (1−返工率)×10 + 督办扣分后的10分（见 docs/kpis.md）。</p>
              <table data-testid="kpi-ranking">
                <thead>
                  <tr>
                    <th>名次</th>
                    <th>承办单位</th>
                    <th>得分</th>
                    <th>按期办结率</th>
                    <th>化解率</th>
                    <th>超期</th>
                  </tr>
                </thead>
                <tbody>
                  {report.ranking.map((r) => {
                    const h = report.handlers.find((x) => x.unit === r.unit);
                    return (
                      <tr key={r.unit}>
                        <td>{r.rank ?? "—"}</td>
                        <td>{r.name}</td>
                        <td>{r.score === null ? "—" : r.score.toFixed(1)}</td>
                        <td>{pct(h?.rates["按期办结率"]?.value)}</td>
                        <td>{pct(h?.rates["化解率"]?.value)}</td>
                        <td>{h?.counts.overdue ?? 0}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          {report.overdue_open.length > 0 && (
            <div className="card">
              <h2>超期未办结</h2>
              <p>
                {report.overdue_open.map((n) => (
                  <a key={n} className="mono" href={href("cases", n)} style={{ marginRight: 8 }}>{n}</a>
                ))}
              </p>
            </div>
          )}
        </>
      )}
    </section>
  );
}
