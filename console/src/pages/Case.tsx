// 案件 the case page: fields (承办单位, 办理时限, 包案领导, 化解方案, 稳控措施, tier, severity,
// the 督办 ladder level), open tasks, the timeline, the diagram with the case's state, and
// suspend / resume / cancel for centre staff. Live: reloads when the case changes.
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import type { CaseDetailOut, TimelineOut } from "../api/types";
import { useCoalesced, useLiveEvents } from "../api/live";
import { errorText, fmtTime, label, ladderName, STATUS, TIER } from "../app/format";
import { href } from "../app/router";
import { useSession } from "../app/session";
import { Banner, Due, Loading, SeverityBadge } from "../components/bits";
import { EvidencePanel } from "../components/Evidence";
import { PlaceFacts, PossibleDuplicates } from "../components/Place";
import { useOrgNames } from "../components/orgNames";

const CaseDiagram = lazy(() => import("../diagram/CaseDiagram"));

/** The case fields a caseworker asks for first, with their Chinese names. */
const FIELD_LABELS: [string, string][] = [
  ["category", "纠纷类别"],
  ["handling_unit", "承办单位"],
  ["co_units", "协办单位"],
  ["case_leader", "包案领导"],
  ["resolution_plan", "化解方案"],
  ["stabilization_measures", "稳控措施"],
  ["dispatch_instructions", "交办要求"],
  ["result_summary", "办理结果"],
  ["description", "纠纷情况"],
];

function show(v: unknown): string {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "是" : "否";
  if (Array.isArray(v)) return v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join("、");
  return JSON.stringify(v);
}

export function CasePage({ caseNo }: { caseNo: string }) {
  const { can } = useSession();
  const [detail, setDetail] = useState<CaseDetailOut | null>(null);
  const [timeline, setTimeline] = useState<TimelineOut | null>(null);
  const [xml, setXml] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [flash, setFlash] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [action, setAction] = useState<"suspend" | "resume" | "cancel" | null>(null);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [liveTick, setLiveTick] = useState(0);

  const load = useCallback(() => {
    api
      .caseDetail(caseNo)
      .then((d) => {
        setDetail(d);
        setError(null);
      })
      .catch((e) => setError(e instanceof ApiError && e.status === 404 ? "案件不存在或您无权查看。" : errorText(e)));
    api
      .timeline(caseNo)
      .then(setTimeline)
      .catch(() => setTimeline(null));
  }, [caseNo]);
  useEffect(load, [load]);

  const processId = detail?.case.process_id;
  const version = detail?.definition_version;
  useEffect(() => {
    if (!processId || !version) return;
    api
      .definitionXml(processId, version)
      .then(setXml)
      .catch(() => setXml(null));
  }, [processId, version]);

  const reload = useCoalesced(load);
  const live = useLiveEvents(
    (e) => {
      if (e.case_no === caseNo) {
        setLiveTick((n) => n + 1);
        reload();
      }
    },
    true,
    load,
  );

  async function runAction() {
    if (!action) return;
    setBusy(true);
    setFlash(null);
    try {
      const d = await api.caseAction(caseNo, action, reason.trim() || null);
      setDetail(d);
      setFlash({ kind: "ok", text: { suspend: "已挂起。", resume: "已恢复。", cancel: "已撤销。" }[action] });
      setAction(null);
      setReason("");
      load();
    } catch (e) {
      setFlash({ kind: "error", text: `操作失败：${errorText(e)}` });
    } finally {
      setBusy(false);
    }
  }

  const orgName = useOrgNames([
    detail?.case.handling_unit,
    detail?.case.org_id,
    ...(detail?.open_tasks ?? []).map((t) => t.candidate_org),
  ]);

  if (error) return <Banner kind="error">{error}</Banner>;
  if (!detail) return <Loading />;
  const c = detail.case;
  const f = detail.fields;
  const running = detail.instance_status === "running";
  const suspended = detail.instance_status === "suspended";

  return (
    <section data-testid="case-page" data-status={c.status} data-live-ticks={liveTick} data-live={live ? "1" : "0"}>
      <p className="muted">
        <a href={href("cases")}>← 案件</a>
      </p>
      <h1>
        <span className="mono">{c.case_no}</span> {c.title}
      </h1>
      <div className="row">
        <span className="badge" data-testid="case-status">{label(STATUS, c.status)}</span>
        <SeverityBadge severity={c.severity} />
        <span>层级：{label(TIER, c.tier)}</span>
        <span data-testid="ladder">督办：{ladderName(c.ladder_level)}</span>
        {c.escalation_count > 0 && <span className="overdue">已上提 {c.escalation_count} 次</span>}
        <Due at={c.due_at} overdue={c.overdue} />
      </div>
      {flash && <Banner kind={flash.kind}>{flash.text}</Banner>}
      <PossibleDuplicates fields={f} />
      {can.centre && (running || suspended) && (
        <div className="toolbar">
          {running && <button type="button" onClick={() => setAction("suspend")}>挂起</button>}
          {suspended && <button type="button" onClick={() => setAction("resume")}>恢复</button>}
          <button type="button" className="danger" onClick={() => setAction("cancel")}>撤销</button>
        </div>
      )}
      {action && (
        <form className="card" aria-label="案件操作" onSubmit={(e) => { e.preventDefault(); void runAction(); }}>
          <label>
            {{ suspend: "挂起理由", resume: "恢复说明（可选）", cancel: "撤销理由" }[action]}
            <textarea name="reason" value={reason} required={action !== "resume"} onChange={(e) => setReason(e.target.value)} />
          </label>
          <div className="row">
            <button type="submit" disabled={busy || (action !== "resume" && !reason.trim())}>
              确认{{ suspend: "挂起", resume: "恢复", cancel: "撤销" }[action]}
            </button>
            <button type="button" onClick={() => setAction(null)}>取消</button>
          </div>
        </form>
      )}
      <div className="case-body">
        <div className="card diagram-card">
          <h2>流程图</h2>
          {xml ? (
            <Suspense fallback={<Loading />}>
              <CaseDiagram xml={xml} elements={detail.elements} history={timeline?.elements} />
            </Suspense>
          ) : (
            <Loading />
          )}
        </div>
        <div className="two-col">
          <div>
            <div className="card">
              <h2>案件信息</h2>
              <dl className="fields" data-testid="case-fields">
                <dt>承办单位</dt>
                <dd>{c.handling_unit ? orgName(c.handling_unit) : show(f.handling_unit)}</dd>
                <dt>办理时限</dt>
                <dd>{c.due_at ? fmtTime(c.due_at) : "—"}</dd>
                <dt>包案领导</dt>
                <dd>{show(c.case_leader ?? f.case_leader)}</dd>
                <dt>所属单位</dt>
                <dd>{orgName(c.org_id)}</dd>
                <dt>上报时间</dt>
                <dd>{fmtTime(c.reported_at)}</dd>
                <PlaceFacts lat={c.lat} lng={c.lng} address={c.address ?? show(f.location)} />
                {FIELD_LABELS.filter(([k]) => !["handling_unit", "case_leader"].includes(k) && f[k] !== undefined).map(([k, l]) => (
                  <div key={k} style={{ display: "contents" }}>
                    <dt>{l}</dt>
                    <dd>{show(f[k])}</dd>
                  </div>
                ))}
                {c.closed_at && (
                  <>
                    <dt>办结时间</dt>
                    <dd>{fmtTime(c.closed_at)}</dd>
                  </>
                )}
              </dl>
            </div>
            <EvidencePanel caseNo={c.case_no} canUpload={can.work} refreshKey={liveTick} />
          </div>
          <div>
            <div className="card">
              <h2>在办任务</h2>
              {detail.open_tasks.length === 0 && <p className="muted">无。</p>}
              <ul className="task-list" data-testid="open-tasks">
                {detail.open_tasks.map((t) => (
                  <li key={t.id}>
                    <a href={href("tasks", t.id)} className="title">{t.name}</a>
                    <div className="row muted">
                      <Due at={t.due_at} overdue={t.overdue} />
                      <span>{t.assignee ? `办理人 ${t.assignee}` : `待领取（${orgName(t.candidate_org)}）`}</span>
                    </div>
                  </li>
                ))}
              </ul>
            </div>
            <div className="card">
              <h2>办理经过</h2>
              <ol className="timeline scroll" data-testid="timeline">
                {(timeline?.steps ?? []).map((s) => (
                  <li key={s.seq}>
                    <div>
                      <strong>{s.title}</strong>
                      {s.on_time === false && <span className="overdue"> 超期</span>}
                      {s.ladder && <span className="badge sev-yellow"> {s.ladder}</span>}
                      {s.escalation && <span className="badge sev-red"> {s.escalation}</span>}
                    </div>
                    <div className="muted">
                      {fmtTime(s.at)} · {s.actor ?? "系统"} {s.org ? `· ${s.org}` : ""}
                    </div>
                    {s.changes.length > 0 && (
                      <ul className="muted">
                        {s.changes.map((ch) => (
                          <li key={ch.field}>{ch.text}</li>
                        ))}
                      </ul>
                    )}
                    {s.comment && <div>“{s.comment}”</div>}
                    {s.reason && <div className="muted">理由：{s.reason}</div>}
                  </li>
                ))}
              </ol>
              {timeline === null && <p className="muted">办理经过暂不可用。</p>}
            </div>
          </div>
        </div>
      </div>
    </section>
  );
}
