// 案件 list with filters (status, 红黄蓝, tier, overdue, text — title, number or address — and
// place: within a radius of a point, e.g. from a case page's 附近案件 link).
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { CasePage } from "../api/types";
import { errorText, fmtTime, label, ladderName, SEVERITY, STATUS, TIER } from "../app/format";
import { href, parseHash } from "../app/router";
import { Banner, Due, Loading, SeverityBadge } from "../components/bits";
import { useOrgNames } from "../components/orgNames";

export function CasesPage() {
  const [text, setText] = useState("");
  const [severity, setSeverity] = useState("");
  const [tier, setTier] = useState("");
  const [status, setStatus] = useState("");
  const [overdue, setOverdue] = useState(false);
  const [near, setNear] = useState(() => parseHash(window.location.hash).query.get("near") ?? "");
  const [radius, setRadius] = useState("1000");
  const [page, setPage] = useState<CasePage | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const t = setTimeout(() => {
      api
        .cases({
          text, severity, tier, status, overdue: overdue || undefined, limit: 100,
          near: near.trim() || undefined, radius_m: near.trim() ? radius : undefined,
        })
        .then((p) => {
          setPage(p);
          setError(null);
        })
        .catch((e) => setError(errorText(e)));
    }, 200);
    return () => clearTimeout(t);
  }, [text, severity, tier, status, overdue, near, radius]);

  return (
    <section>
      <h1>案件</h1>
      <div className="toolbar">
        <input aria-label="搜索" placeholder="事项码、标题或地址" value={text} onChange={(e) => setText(e.target.value)} />
        <select aria-label="状态" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">全部状态</option>
          {Object.entries(STATUS).map(([k, v]) => <option key={k} value={k}>{v}</option>)}
        </select>
        <select aria-label="风险等级" value={severity} onChange={(e) => setSeverity(e.target.value)}>
          <option value="">红黄蓝</option>
          {Object.entries(SEVERITY).map(([k, v]) => <option key={k} value={k}>{v}</option>)}
        </select>
        <select aria-label="层级" value={tier} onChange={(e) => setTier(e.target.value)}>
          <option value="">全部层级</option>
          {Object.entries(TIER).map(([k, v]) => <option key={k} value={k}>{v}</option>)}
        </select>
        <label className="row" style={{ margin: 0 }}>
          <input type="checkbox" checked={overdue} onChange={(e) => setOverdue(e.target.checked)} /> 仅超期
        </label>
        <input aria-label="附近" placeholder="附近：纬度,经度" value={near} onChange={(e) => setNear(e.target.value)} />
        <select aria-label="半径" value={radius} onChange={(e) => setRadius(e.target.value)}>
          {["200", "500", "1000", "3000", "10000"].map((m) => (
            <option key={m} value={m}>{Number(m) >= 1000 ? `${Number(m) / 1000} 公里内` : `${m} 米内`}</option>
          ))}
        </select>
      </div>
      {error && <Banner kind="error">{error}</Banner>}
      {!page && !error && <Loading />}
      {page && <CaseTable items={page.items} />}
      {page && <p className="muted">共 {page.total} 件。</p>}
    </section>
  );
}

export function CaseTable({ items }: { items: CasePage["items"] }) {
  const orgName = useOrgNames(items.map((c) => c.handling_unit));
  return (
    <div className="table-wrap">
      <table className="grid" data-testid="case-table">
        <thead>
          <tr>
            <th>事项码</th><th>标题</th><th>状态</th><th>风险</th><th>层级</th><th>承办单位</th><th>时限</th><th>督办</th><th>上报</th>
          </tr>
        </thead>
        <tbody>
          {items.map((c) => (
            <tr key={c.case_no}>
              <td><a className="mono" href={href("cases", c.case_no)}>{c.case_no}</a></td>
              <td>{c.title}</td>
              <td>{label(STATUS, c.status)}</td>
              <td><SeverityBadge severity={c.severity} /></td>
              <td>{label(TIER, c.tier)}</td>
              <td>{orgName(c.handling_unit)}</td>
              <td><Due at={c.due_at} overdue={c.overdue} /></td>
              <td>{ladderName(c.ladder_level)}</td>
              <td>{fmtTime(c.reported_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
