// 待办 inbox: saved views (mine / my unit's candidates / jurisdiction), filters (overdue, due
// soon, 红黄蓝, tier), sort by due time; claim in one click. Refreshes from the live feed.
import { useCallback, useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import type { TaskOut, TaskPage } from "../api/types";
import { useCoalesced, useLiveEvents } from "../api/live";
import { errorText, fmtTime, SEVERITY, TIER } from "../app/format";
import { href, navigate, type Route } from "../app/router";
import { useSession } from "../app/session";
import { Banner, Due, Loading, SeverityBadge } from "../components/bits";
import { ZeroReports } from "./ZeroReports";

type Scope = "candidate" | "mine" | "jurisdiction";
const DAY = 24 * 3600 * 1000;


function setQuery(route: Route, changes: Record<string, string | null>) {
  const q = new URLSearchParams(route.query);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "") q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(`#/inbox${s ? `?${s}` : ""}`);
}

export function InboxPage({ route }: { route: Route }) {
  const { can } = useSession();
  const scope = (route.query.get("scope") as Scope | null) ?? "mine";
  const sort = route.query.get("sort") ?? "due";
  const overdue = route.query.get("overdue") === "1";
  const dueSoon = route.query.get("soon") === "1";
  const severity = route.query.get("severity");
  const tier = route.query.get("tier");
  const [page, setPage] = useState<TaskPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [flash, setFlash] = useState<{ kind: "ok" | "error"; text: string } | null>(null);

  const load = useCallback(() => {
    api
      .tasks({ scope, sort, limit: 200, overdue: overdue || undefined, severity, tier })
      .then((p) => {
        setPage(p);
        setError(null);
      })
      .catch((e) => setError(errorText(e)));
  }, [scope, sort, overdue, severity, tier]);

  useEffect(load, [load]);
  // 督办 my units must answer (情况说明): a task of the unit, answered on the 督办单 screen
  const [orders, setOrders] = useState(0);
  useEffect(() => {
    api.orders({ mine: true, state: "open" }).then((p) => setOrders(p.items.length)).catch(() => setOrders(0));
  }, []);
  const reload = useCoalesced(load);
  const live = useLiveEvents(
    (e) => {
      if (e.kind === "task" || e.kind === "case") reload();
    },
    true,
    load,
  );

  async function claim(t: TaskOut) {
    setFlash(null);
    try {
      await api.claim(t.id);
      navigate(href("tasks", t.id));
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        setFlash({ kind: "error", text: `领取失败：该任务已被他人领取（${e.detail}）` });
      } else setFlash({ kind: "error", text: `领取失败：${errorText(e)}` });
      load();
    }
  }

  const now = Date.now();
  // The server filters by overdue, 红黄蓝 and tier; "due within 24 hours" is the browser's.
  const items = (page?.items ?? []).filter(
    (t) => !dueSoon || (t.due_at && !t.overdue && new Date(t.due_at).getTime() - now < DAY),
  );

  const chip = (on: boolean, text: string, changes: Record<string, string | null>, testid?: string) => (
    <button type="button" className={`chip${on ? " on" : ""}`} aria-pressed={on} data-testid={testid}
      onClick={() => setQuery(route, changes)}>
      {text}
    </button>
  );

  return (
    <section>
      <h1>待办</h1>
      {can.attest && <ZeroReports />}
      {orders > 0 && (
        <div className="banner warn" data-testid="orders-due">
          本单位有 {orders} 件督办待回复情况说明：<a href={href("orders")}>前往督办单</a>
        </div>
      )}
      <div className="chips" role="group" aria-label="视图">
        {chip(scope === "mine", "我的", { scope: "mine" }, "scope-mine")}
        {chip(scope === "candidate", "本单位待领", { scope: "candidate" }, "scope-candidate")}
        {can.centre && chip(scope === "jurisdiction", "辖区全部", { scope: "jurisdiction" }, "scope-jurisdiction")}
      </div>
      <div className="chips" role="group" aria-label="筛选">
        {chip(overdue, "已超期", { overdue: overdue ? null : "1" }, "filter-overdue")}
        {chip(dueSoon, "24小时内到期", { soon: dueSoon ? null : "1" }, "filter-soon")}
        {Object.entries(SEVERITY).map(([k, v]) =>
          chip(severity === k, v, { severity: severity === k ? null : k }, `filter-${k}`),
        )}
        <select aria-label="层级" value={tier ?? ""} onChange={(e) => setQuery(route, { tier: e.target.value || null })}>
          <option value="">全部层级</option>
          {Object.entries(TIER).map(([k, v]) => (
            <option key={k} value={k}>
              {v}
            </option>
          ))}
        </select>
        <select aria-label="排序" value={sort} onChange={(e) => setQuery(route, { sort: e.target.value })}>
          <option value="due">按到期时间</option>
          <option value="priority">按优先级</option>
          <option value="created">按创建时间</option>
        </select>
      </div>
      {flash && <Banner kind={flash.kind}>{flash.text}</Banner>}
      {error && <Banner kind="error">{error}</Banner>}
      {!page && !error && <Loading />}
      {page && items.length === 0 && <p className="muted">没有待办任务。</p>}
      <ul className="task-list" data-testid="task-list" data-live={live ? "1" : "0"}>
        {items.map((t) => (
          <li key={t.id} data-testid="task-item" data-task-id={t.id} data-case-no={t.case_no} data-element={t.element_id}>
            <div className="row">
              <a className="title" href={href("tasks", t.id)}>
                {t.name}
              </a>
              <SeverityBadge severity={t.severity} />
              {t.tier && <span className="muted">{TIER[t.tier] ?? t.tier}</span>}
              <span className="spacer" />
              {t.state === "open" && scope !== "mine" && (
                <button type="button" className="primary" onClick={() => void claim(t)}>
                  领取
                </button>
              )}
            </div>
            <div>
              <a href={href("cases", t.case_no)} className="mono">
                {t.case_no}
              </a>{" "}
              {t.case_title}
            </div>
            <div className="row muted">
              <Due at={t.due_at} overdue={t.overdue} />
              <span>{t.assignee ? `办理人 ${t.assignee}` : "待领取"}</span>
              <span>创建 {fmtTime(t.created_at)}</span>
            </div>
          </li>
        ))}
      </ul>
      {page && page.total > page.items.length && (
        <p className="muted">共 {page.total} 条，显示前 {page.items.length} 条。</p>
      )}
    </section>
  );
}
