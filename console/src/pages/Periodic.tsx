// 报表: the periodic reports the scheduler stores — 日排查 (per grid, with the grid workers'
// 零报告 and the missing ones), 周汇总 (per township), 月研判 (per county, with the month's KPIs
// and the ranking of 承办单位 for the 通报) — listed within the caller's jurisdiction.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { ReportOut, ReportSummaryOut } from "../api/types";
import { errorText, fmtTime } from "../app/format";
import { href, navigate, type Route } from "../app/router";
import { Banner, Loading } from "../components/bits";

const KINDS: Record<string, string> = {
  daily_screening: "日排查",
  weekly_summary: "周汇总",
  monthly_analysis: "月研判",
};

type Row = Record<string, unknown>;
const pct = (v: unknown) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "—");
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function CaseLinks({ items }: { items: unknown[] }) {
  if (items.length === 0) return <span className="muted">无</span>;
  return (
    <>
      {items.map((x) => {
        const no = typeof x === "string" ? x : String((x as Row).case_no ?? "");
        return (
          <a key={no} className="mono" href={href("cases", no)} style={{ marginRight: 8 }}>
            {no}
          </a>
        );
      })}
    </>
  );
}

function Daily({ c }: { c: Row }) {
  const attested = list(c.attested) as Row[];
  const missing = list(c.missing) as string[];
  return (
    <dl className="facts" data-testid="report-daily">
      <dt>当日上报</dt>
      <dd>
        {String(c.count ?? 0)} 件 <CaseLinks items={list(c.reported)} />
      </dd>
      <dt>零报告</dt>
      <dd>
        {attested.length === 0 ? (
          <span className="muted">无</span>
        ) : (
          attested.map((a) => (
            <div key={String(a.user_id)}>
              {String(a.user_id)} 于 {fmtTime(String(a.attested_at))} 确认
              {a.note ? `：${String(a.note)}` : ""}
            </div>
          ))
        )}
      </dd>
      <dt>未报零报告</dt>
      <dd data-testid="report-missing">{missing.length ? missing.join("、") : <span className="muted">无</span>}</dd>
    </dl>
  );
}

function Weekly({ c }: { c: Row }) {
  return (
    <dl className="facts" data-testid="report-weekly">
      <dt>期间</dt>
      <dd>自 {String(c.from ?? "")} 起一周</dd>
      <dt>新增 / 办结 / 在办</dt>
      <dd>
        {String(c.new ?? 0)} / {String(c.closed ?? 0)} / {String(c.open ?? 0)}
      </dd>
      <dt>超期</dt>
      <dd>
        <CaseLinks items={list(c.overdue)} />
      </dd>
    </dl>
  );
}

function Monthly({ c }: { c: Row }) {
  const kpis = (c.kpis ?? {}) as Record<string, Row>;
  const ranking = list(c.ranking) as Row[];
  return (
    <div data-testid="report-monthly">
      <div className="row">
        {["按期办结率", "化解率", "响应率", "协议履行率", "红案清零率", "满意率"].map((k) => (
          <div className="card" key={k} style={{ minWidth: 110 }}>
            <div className="muted">{k}</div>
            <div style={{ fontSize: "1.2rem", fontWeight: 600 }}>{pct(kpis[k]?.value)}</div>
            <div className="muted">{kpis[k] ? `${String(kpis[k].numerator)}/${String(kpis[k].denominator)}` : ""}</div>
          </div>
        ))}
      </div>
      <h3>承办单位排名（月度通报）</h3>
      <table data-testid="report-ranking">
        <thead>
          <tr>
            <th>名次</th>
            <th>承办单位</th>
            <th>得分</th>
          </tr>
        </thead>
        <tbody>
          {ranking.map((r) => (
            <tr key={String(r.unit)}>
              <td>{r.rank === null ? "—" : String(r.rank)}</td>
              <td>{String(r.name)}</td>
              <td>{typeof r.score === "number" ? r.score.toFixed(1) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl className="facts">
        <dt>在办红案</dt>
        <dd>
          <CaseLinks items={list(c.red)} />
        </dd>
        <dt>超期未办结</dt>
        <dd>
          <CaseLinks items={list(c.overdue)} />
        </dd>
        <dt>重复（重办）</dt>
        <dd>
          <CaseLinks items={list(c.repeat)} />
        </dd>
      </dl>
    </div>
  );
}

function Detail({ id }: { id: number }) {
  const [report, setReport] = useState<ReportOut | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setReport(null);
    api
      .periodicReport(id)
      .then(setReport)
      .catch((e) => setError(errorText(e)));
  }, [id]);
  if (error) return <Banner kind="error">{error}</Banner>;
  if (!report) return <Loading />;
  const c = report.content as Row;
  return (
    <div className="card">
      <h2>{report.title}</h2>
      <p className="muted">
        {KINDS[report.kind] ?? report.kind} · {report.org_name} · {report.period} · 生成于 {fmtTime(report.created_at)}
      </p>
      {report.kind === "daily_screening" && <Daily c={c} />}
      {report.kind === "weekly_summary" && <Weekly c={c} />}
      {report.kind === "monthly_analysis" && <Monthly c={c} />}
    </div>
  );
}

export function PeriodicPage({ route }: { route: Route }) {
  const kind = route.query.get("kind") ?? "";
  const selected = Number(route.parts[1] ?? "") || null;
  const [items, setItems] = useState<ReportSummaryOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setItems(null);
    api
      .periodicReports({ kind: kind || undefined, limit: 100 })
      .then(setItems)
      .catch((e) => setError(errorText(e)));
  }, [kind]);
  return (
    <section>
      <h1>报表</h1>
      <div className="toolbar">
        <select
          aria-label="报表类型"
          value={kind}
          onChange={(e) => navigate(`#/reports${e.target.value ? `?kind=${e.target.value}` : ""}`)}
        >
          <option value="">全部</option>
          {Object.entries(KINDS).map(([k, v]) => (
            <option key={k} value={k}>
              {v}
            </option>
          ))}
        </select>
      </div>
      {error && <Banner kind="error">{error}</Banner>}
      {!items && !error && <Loading />}
      {items && items.length === 0 && <p>暂无报表。</p>}
      {items && items.length > 0 && (
        <table data-testid="report-list">
          <thead>
            <tr>
              <th>类型</th>
              <th>单位</th>
              <th>期间</th>
              <th>标题</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id} className={r.id === selected ? "selected" : undefined}>
                <td>{KINDS[r.kind] ?? r.kind}</td>
                <td>{r.org_name}</td>
                <td>{r.period}</td>
                <td>
                  <a href={href("reports", String(r.id))}>{r.title}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <Detail id={selected} />}
    </section>
  );
}
