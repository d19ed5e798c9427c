// 办理 a task: claim / unclaim / assign (转派, with a reason) / comment / complete, the form
// rendered with rjsf (server's 422 on the fields), and the case beside it.
import { useCallback, useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import type { FieldProblem, JsonObject, TaskDetailOut } from "../api/types";
import { useLiveEvents } from "../api/live";
import { errorText, fmtTime, SEVERITY, STATUS, TIER } from "../app/format";
import { href } from "../app/router";
import { EvidencePanel } from "../components/Evidence";
import { PossibleDuplicates } from "../components/Place";
import { useSession } from "../app/session";
import { ROLE_NAMES } from "../app/roles";
import { Banner, Due, Loading } from "../components/bits";
import { FormView } from "../forms/FormView";
import { describeProblems } from "../forms/errors";
import { UserChooser } from "../components/UserChooser";
import { useOrgNames } from "../components/orgNames";

type Flash = { kind: "ok" | "error" | "warn"; text: string } | null;

export function conflictText(e: ApiError): string {
  if (e.code === "already_claimed") return `该任务已被他人领取，无法再领取。（${e.detail}）`;
  if (e.code === "task_not_open") return `该任务已不在待办状态（可能已被他人办结）。（${e.detail}）`;
  if (e.code === "stale_version") return `案件已被他人更新，请刷新后重试。（${e.detail}）`;
  return e.detail;
}

export function TaskPage({ id }: { id: string }) {
  const { me, can } = useSession();
  const [detail, setDetail] = useState<TaskDetailOut | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [formData, setFormData] = useState<JsonObject>({});
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [flash, setFlash] = useState<Flash>(null);
  const [busy, setBusy] = useState(false);
  const [comment, setComment] = useState("");
  const [assignOpen, setAssignOpen] = useState(false);
  const [assignee, setAssignee] = useState("");
  const [reason, setReason] = useState("");

  const load = useCallback(() => {
    api
      .task(id)
      .then((d) => {
        setDetail(d);
        setLoadError(null);
      })
      .catch((e) => setLoadError(e instanceof ApiError && e.status === 404 ? "任务不存在或您无权查看。" : errorText(e)));
  }, [id]);
  useEffect(load, [load]);
  useLiveEvents(
    (e) => {
      if (detail && e.case_no === detail.task.case_no && !busy) load();
    },
    detail !== null,
    load,
  );

  async function act(what: string, fn: () => Promise<unknown>, ok: string) {
    setBusy(true);
    setFlash(null);
    try {
      await fn();
      setFlash({ kind: "ok", text: ok });
      load();
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setFlash({ kind: "error", text: `${what}失败：${conflictText(e)}` });
      else setFlash({ kind: "error", text: `${what}失败：${errorText(e)}` });
      load();
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function complete(data: JsonObject) {
    if (!detail) return;
    setBusy(true);
    setFlash(null);
    setProblems([]);
    try {
      await api.complete(id, data, detail.instance_version);
      setFlash({ kind: "ok", text: "已提交，任务办结。可返回待办继续处理。" });
      load();
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        setProblems(e.errors);
        setFlash({ kind: "error", text: `表单有误，请按提示修改：${describeProblems(e.errors, detail.form_schema) || e.detail}` });
      } else if (e instanceof ApiError && e.status === 409) {
        setFlash({ kind: "error", text: `提交失败：${conflictText(e)}` });
        load();
      } else setFlash({ kind: "error", text: `提交失败：${errorText(e)}` });
    } finally {
      setBusy(false);
    }
  }

  const orgName = useOrgNames([detail?.task.candidate_org]);

  if (loadError) return <Banner kind="error">{loadError}</Banner>;
  if (!detail) return <Loading />;
  const t = detail.task;
  const mine = t.assignee === me?.user_id && t.state === "claimed";
  const open = t.state === "open";
  const done = t.state === "completed" || t.state === "cancelled";

  return (
    <section data-testid="task-page" data-task-state={t.state}>
      <p className="muted">
        <a href={href("inbox")}>← 待办</a> · 案件{" "}
        <a href={href("cases", t.case_no)} className="mono">
          {t.case_no}
        </a>
      </p>
      <h1>{t.name}</h1>
      <p>{t.case_title}</p>
      <div className="row muted">
        <Due at={t.due_at} overdue={t.overdue} />
        <span data-testid="task-assignee">
          {t.state === "completed"
            ? `已办结（${t.completed_by ?? ""}，${fmtTime(t.completed_at)}）`
            : t.assignee
              ? `办理人：${t.assignee}`
              : "待领取"}
        </span>
        {t.candidate_org && (
          <span>
            候选：{orgName(t.candidate_org)} · {ROLE_NAMES[t.candidate_role ?? ""] ?? t.candidate_role}
          </span>
        )}
      </div>
      {flash && <Banner kind={flash.kind}>{flash.text}</Banner>}
      <PossibleDuplicates fields={detail.data} />
      <div className="toolbar">
        {open && can.work && (
          <button type="button" className="primary" disabled={busy}
            onClick={() => void act("领取", () => api.claim(id), "已领取。")}>
            领取
          </button>
        )}
        {t.state === "claimed" && (mine || can.centre) && (
          <button type="button" disabled={busy} onClick={() => void act("退回待领", () => api.unclaim(id), "已退回待领。")}>
            {mine ? "放弃领取" : "收回"}
          </button>
        )}
        {!done && (mine || can.centre) && (
          <button type="button" disabled={busy} onClick={() => setAssignOpen((v) => !v)}>
            转派
          </button>
        )}
      </div>
      {assignOpen && !done && (
        <form className="card" aria-label="转派"
          onSubmit={(e) => {
            e.preventDefault();
            void act("转派", () => api.assign(id, assignee, reason), `已转派给 ${assignee}。`).then(
              (ok) => ok && setAssignOpen(false),
            );
          }}>
          <UserChooser label="转派给" role={t.candidate_role} org={t.candidate_org} value={assignee} onChange={setAssignee} />
          <label>
            转派理由
            <textarea name="assign_reason" required value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <button type="submit" disabled={busy || !assignee || !reason.trim()}>
            确认转派
          </button>
        </form>
      )}
      <div className="two-col">
        <div>
          <div className="card">
            <h2>表单</h2>
            {detail.form_schema ? (
              <FormView
                schema={detail.form_schema}
                uiSchema={detail.ui_schema}
                formData={formData}
                onChange={setFormData}
                onSubmit={mine ? (d) => void complete(d) : undefined}
                problems={problems}
                disabled={busy || !mine}
                submitLabel="提交办结"
              />
            ) : mine ? (
              <button type="button" className="primary" disabled={busy} onClick={() => void complete({})}>
                办结
              </button>
            ) : (
              <p className="muted">此任务没有表单。</p>
            )}
            {!mine && !done && <p className="muted">领取后可填写并提交。</p>}
          </div>
        </div>
        <div>
          <div className="card">
            <h2>备注</h2>
            <ul className="timeline" data-testid="comments">
              {detail.comments.map((c) => (
                <li key={c.id}>
                  <div>{c.text}</div>
                  <div className="muted">
                    {c.author} · {fmtTime(c.created_at)}
                  </div>
                </li>
              ))}
            </ul>
            {can.work && (
              <form aria-label="添加备注"
                onSubmit={(e) => {
                  e.preventDefault();
                  void act("备注", () => api.comment(id, comment), "备注已添加。").then((ok) => ok && setComment(""));
                }}>
                <textarea name="comment" placeholder="写备注…" value={comment} onChange={(e) => setComment(e.target.value)} />
                <button type="submit" disabled={busy || !comment.trim()}>
                  添加备注
                </button>
              </form>
            )}
          </div>
          <EvidencePanel caseNo={t.case_no} taskId={t.id} canUpload={mine} />
          <div className="card">
            <h2>案件信息</h2>
            <CaseDataView data={detail.data} />
          </div>
        </div>
      </div>
    </section>
  );
}

/** Chinese names of the case data the task page shows; internal counters stay hidden at zero. */
const DATA_LABELS: Record<string, string> = {
  case_no: "事项码",
  title: "标题",
  description: "纠纷情况",
  source_channel: "来源渠道",
  grid_code: "所属网格",
  location: "发生地点",
  occurred_at: "发生时间",
  parties: "当事人",
  party_count: "涉及人数",
  amount_involved: "涉及金额(元)",
  category_hint: "纠纷类别(初判)",
  category: "纠纷类别",
  severity: "风险等级",
  difficulty: "难易程度",
  risk_flags: "风险标识",
  reporter_note: "上报人备注",
  reported_by: "上报人",
  case_status: "状态",
  handling_unit: "承办单位",
  case_leader: "包案领导",
  screen_opinion: "甄别意见",
  dispatch_instructions: "交办要求",
  progress_note: "办理进展",
  result_summary: "化解情况",
  resolution_plan: "化解方案",
  stabilization_measures: "稳控措施",
  geo: "坐标",
};

function shown(k: string, v: unknown): boolean {
  if (v === null || v === "" || v === undefined || (Array.isArray(v) && v.length === 0)) return false;
  if ((k.endsWith("_count") || k.endsWith("_attempts")) && v === 0) return false;
  if (v === false && !(k in DATA_LABELS)) return false;
  if (k === "possible_duplicates") return false; // shown as the 疑似重复 banner
  return true;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "是" : "否";
  if (typeof v === "object" && v !== null && "lat" in v && "lng" in v) {
    const g = v as { lat: unknown; lng: unknown };
    return `${String(g.lat)}, ${String(g.lng)}`;
  }
  if (Array.isArray(v))
    return v
      .map((x) => (typeof x === "object" && x !== null && "name" in x ? String((x as { name: unknown }).name) : show(x)))
      .join("、");
  return JSON.stringify(v);
}

const VALUE_LABELS: Record<string, Record<string, string>> = { severity: SEVERITY, tier: TIER, case_status: STATUS };

export function CaseDataView({ data }: { data: JsonObject }) {
  const entries = Object.entries(data)
    .filter(([k, v]) => shown(k, v))
    .sort(([a], [b]) => Number(!(a in DATA_LABELS)) - Number(!(b in DATA_LABELS)));
  return (
    <dl className="fields">
      {entries.map(([k, v]) => (
        <div key={k} style={{ display: "contents" }}>
          <dt className={k in DATA_LABELS ? undefined : "mono"}>{DATA_LABELS[k] ?? k}</dt>
          <dd>{typeof v === "string" && VALUE_LABELS[k]?.[v] ? VALUE_LABELS[k][v] : show(v)}</dd>
        </div>
      ))}
    </dl>
  );
}
