// 审计 for auditors: event search with filters, chain verification, CSV export (the server's
// export, UTF-8 with BOM so Excel reads the Chinese), and each case's timeline.
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api } from "../api/client";
import type { AuditEventOut, VerifyOut } from "../api/types";
import { errorText, EVENT_TYPES, fmtTime } from "../app/format";
import { href } from "../app/router";
import { useSession } from "../app/session";
import { Banner, Loading } from "../components/bits";

interface Filters {
  case_no: string;
  actor: string;
  event_type: string;
  since: string;
  until: string;
  org: string;
}
const EMPTY: Filters = { case_no: "", actor: "", event_type: "", since: "", until: "", org: "" };

function toQuery(f: Filters) {
  return {
    case_no: f.case_no.trim() || undefined,
    actor: f.actor.trim() || undefined,
    event_type: f.event_type.trim() ? f.event_type.split(/[,\s]+/).filter(Boolean) : undefined,
    since: f.since ? new Date(`${f.since}T00:00:00+08:00`).toISOString() : undefined,
    until: f.until ? new Date(`${f.until}T23:59:59+08:00`).toISOString() : undefined,
    org: f.org.trim() || undefined,
  };
}

export function AuditPage() {
  const { roles } = useSession();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [items, setItems] = useState<AuditEventOut[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [verify, setVerify] = useState<VerifyOut | null>(null);
  const [verifying, setVerifying] = useState(false);

  const search = useCallback((f: Filters, after?: string) => {
    setError(null);
    api
      .auditEvents({ ...toQuery(f), limit: 100, after })
      .then((p) => {
        setItems((prev) => (after ? [...(prev ?? []), ...p.items] : p.items));
        setCursor(p.next_cursor);
      })
      .catch((e) => setError(errorText(e)));
  }, []);
  useEffect(() => search(filters), [filters, search]);

  async function runVerify() {
    setVerifying(true);
    setVerify(null);
    try {
      setVerify(await api.verify(filters.case_no.trim() || undefined));
    } catch (e) {
      setError(`校验失败：${errorText(e)}`);
    } finally {
      setVerifying(false);
    }
  }

  async function exportCsv() {
    try {
      const blob = await api.auditExport({ ...toQuery(filters), format: "csv" });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = "audit-events.csv";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(`导出失败：${errorText(e)}`);
    }
  }

  const field = (k: keyof Filters, lbl: string, type = "text") => (
    <label>
      {lbl}
      <input name={k} type={type} value={draft[k]} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} />
    </label>
  );
  const canVerify = roles.has("auditor") || roles.has("supervisor");

  return (
    <section>
      <h1>审计</h1>
      <form className="card" aria-label="审计查询" onSubmit={(e: FormEvent) => { e.preventDefault(); setFilters(draft); }}>
        <div className="row" style={{ alignItems: "end" }}>
          {field("case_no", "事项码")}
          {field("actor", "操作人")}
          {field("event_type", "事件类型（如 task_completed）")}
          {field("org", "单位")}
          {field("since", "起始日期", "date")}
          {field("until", "截止日期", "date")}
        </div>
        <div className="toolbar">
          <button type="submit">查询</button>
          <button type="button" onClick={() => void exportCsv()}>导出 CSV</button>
          {canVerify && (
            <button type="button" disabled={verifying} onClick={() => void runVerify()} data-testid="verify">
              {verifying ? "正在校验…" : filters.case_no ? "校验本案哈希链" : "校验全部哈希链"}
            </button>
          )}
        </div>
      </form>
      {verify && (
        <div data-testid="verify-result" data-ok={verify.ok ? "1" : "0"}>
          {verify.ok ? (
            <Banner kind="ok">哈希链校验通过：记录完整，未被篡改。</Banner>
          ) : (
            <Banner kind="error">
              哈希链校验未通过，发现 {verify.problems.length} 处问题：
              <ul>
                {verify.problems.map((p, i) => (
                  <li key={i}>
                    {p.case_no ?? ""} {p.seq !== null ? `#${p.seq}` : ""} {p.kind}：{p.message}
                  </li>
                ))}
              </ul>
            </Banner>
          )}
        </div>
      )}
      {error && <Banner kind="error">{error}</Banner>}
      {!items && !error && <Loading />}
      {items && (
        <div className="table-wrap">
          <table className="grid" data-testid="audit-table">
            <thead>
              <tr><th>时间</th><th>事项码</th><th>#</th><th>事件</th><th>环节</th><th>操作人</th><th>单位</th><th>理由</th></tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td>{fmtTime(e.at)}</td>
                  <td><a className="mono" href={href("cases", e.case_no)}>{e.case_no}</a></td>
                  <td>{e.seq}</td>
                  <td>
                    {EVENT_TYPES[e.event_type] ?? ""} <span className="mono muted">{e.event_type}</span>
                  </td>
                  <td>{e.element_name ?? e.element_id ?? ""}</td>
                  <td>{e.actor_user ?? "系统"}{e.actor_role ? ` (${e.actor_role})` : ""}</td>
                  <td>{e.actor_org ?? ""}</td>
                  <td>{e.reason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {items.length === 0 && <p className="muted">没有符合条件的记录。</p>}
          {cursor && <button type="button" onClick={() => search(filters, cursor)}>加载更多</button>}
        </div>
      )}
    </section>
  );
}
