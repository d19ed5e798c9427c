// 督办单: issue a 督办 (督办员, centres, leaders), answer one addressed to my unit with a 情况说明
// (the server's form supervision_answer), record the outcome of a 约谈/督查; my notices.
import { useCallback, useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import type { AnswerFormOut, FieldProblem, JsonObject, NoticeOut, OrderIn, OrderOut } from "../api/types";
import { errorText, fmtTime } from "../app/format";
import { href } from "../app/router";
import { useSession } from "../app/session";
import { Banner, Loading } from "../components/bits";
import { useOrgNames } from "../components/orgNames";
import { FormView } from "../forms/FormView";
import { describeProblems } from "../forms/errors";

type Flash = { kind: "ok" | "error"; text: string } | null;
const STATES: Record<string, string> = {
  open: "待回复", answered: "已回复", published: "已通报", scheduled: "待开展", recorded: "已记录", closed: "已结束",
};
const KINDS: [OrderIn["kind"], string][] = [
  ["order", "督办单"], ["listed", "挂牌督办"], ["circular", "通报"], ["interview", "约谈"], ["inspection", "督查"],
];

export function OrdersPage() {
  const { can } = useSession();
  const [mine, setMine] = useState<OrderOut[] | null>(null);
  const [all, setAll] = useState<OrderOut[]>([]);
  const [notices, setNotices] = useState<NoticeOut[]>([]);
  const [flash, setFlash] = useState<Flash>(null);
  const load = useCallback(() => {
    Promise.all([
      api.orders({ mine: true }),
      can.supervise ? api.orders({}) : Promise.resolve({ items: [] }),
      api.notices({ limit: 20 }),
    ])
      .then(([m, a, n]) => { setMine(m.items); setAll(a.items); setNotices(n.items); })
      .catch((e) => setFlash({ kind: "error", text: errorText(e) }));
  }, [can.supervise]);
  useEffect(load, [load]);
  const orgName = useOrgNames([...(mine ?? []), ...all].map((o) => o.target_org));
  if (!mine) return flash ? <Banner kind="error">{flash.text}</Banner> : <Loading />;
  const done = (text: string) => { setFlash({ kind: "ok", text }); load(); };
  const open = mine.filter((o) => o.state === "open");
  return (
    <section>
      <h1>督办单</h1>
      {flash && <Banner kind={flash.kind}>{flash.text}</Banner>}
      {can.supervise && <IssueForm onIssued={(o) => done(`已下发${o.label} ${o.id}`)} onError={(t) => setFlash({ kind: "error", text: t })} />}
      <div className="card" data-testid="orders-mine">
        <h2>待本单位回复 <span className="muted">{open.length} 件</span></h2>
        {open.length === 0 && <p className="muted">没有待回复的督办。</p>}
        {open.map((o) => (
          <AnswerCard key={o.id} order={o} onAnswered={() => done(`已回复督办 ${o.id}`)} />
        ))}
      </div>
      {can.supervise && (
        <div className="card">
          <h2>辖区督办</h2>
          <div className="table-wrap">
            <table className="grid" data-testid="orders-table">
              <thead>
                <tr><th>编号</th><th>类别</th><th>事项</th><th>对象</th><th>案件</th><th>状态</th><th>等级</th><th>时限</th><th></th></tr>
              </thead>
              <tbody>
                {all.map((o) => (
                  <tr key={o.id} data-testid="order-row">
                    <td className="mono">{o.id}</td>
                    <td>{o.label}</td>
                    <td>{o.title}</td>
                    <td>{orgName(o.target_org)}</td>
                    <td>{o.case_no ? <a className="mono" href={href("cases", o.case_no)}>{o.case_no}</a> : "—"}</td>
                    <td>{STATES[o.state] ?? o.state}{o.answer && o.state === "answered" ? `（${o.answered_by}）` : ""}</td>
                    <td className={o.level >= 2 ? "overdue" : undefined}>{o.rung ?? "—"}</td>
                    <td>{fmtTime(o.due_at)}</td>
                    <td>{o.state === "scheduled" && <Outcome order={o} onDone={() => done(`已记录 ${o.id} 的结果`)} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      <div className="card" data-testid="notices">
        <h2>我的通知</h2>
        {notices.length === 0 && <p className="muted">没有通知。</p>}
        <ul className="plain">
          {notices.map((n) => (
            <li key={n.id} data-testid="notice">
              <strong>{n.title}</strong> <span className="muted">{fmtTime(n.created_at)}</span>
              {n.acked_at ? <span className="muted"> 已签收</span> : (
                <button type="button" className="link" onClick={() => void api.ackNotice(n.id).then(load)}>签收</button>
              )}
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}

function IssueForm({ onIssued, onError }: { onIssued: (o: OrderOut) => void; onError: (t: string) => void }) {
  const [kind, setKind] = useState<OrderIn["kind"]>("order");
  const [title, setTitle] = useState("");
  const [target, setTarget] = useState("");
  const [caseNo, setCaseNo] = useState("");
  const [days, setDays] = useState(3);
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    try {
      const o = await api.issueOrder({
        kind, title, body, target_org: target || null, case_no: caseNo || null,
        limit_days: kind === "order" || kind === "listed" ? days : null,
      });
      setTitle(""); setBody(""); onIssued(o);
    } catch (e) {
      onError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" aria-label="下发督办" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <h2>下发督办</h2>
      <label>类别 <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as OrderIn["kind"])}>
        {KINDS.map(([k, l]) => <option key={k} value={k}>{l}</option>)}
      </select></label>
      <label>督办事项 <input name="title" required value={title} onChange={(e) => setTitle(e.target.value)} /></label>
      <label>被督办单位（编码） <input name="target_org" value={target} onChange={(e) => setTarget(e.target.value)} /></label>
      <label>案件编号（可选） <input name="case_no" value={caseNo} onChange={(e) => setCaseNo(e.target.value)} /></label>
      {(kind === "order" || kind === "listed") && (
        <label>回复时限（工作日） <input name="limit_days" type="number" min={1} max={30} value={days} onChange={(e) => setDays(Number(e.target.value))} /></label>
      )}
      <label>督办要求 <textarea name="body" rows={3} value={body} onChange={(e) => setBody(e.target.value)} /></label>
      <button type="submit" className="primary" disabled={busy || !title.trim()}>下发</button>
    </form>
  );
}

function AnswerCard({ order, onAnswered }: { order: OrderOut; onAnswered: () => void }) {
  const [form, setForm] = useState<AnswerFormOut | null>(null);
  const [data, setData] = useState<JsonObject>({});
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { api.answerForm().then(setForm).catch((e) => setError(errorText(e))); }, []);
  const submit = async (d: JsonObject) => {
    try {
      await api.answerOrder(order.id, d);
      onAnswered();
    } catch (e) {
      if (e instanceof ApiError && e.errors.length) {
        setProblems(e.errors);
        setError(describeProblems(e.errors, form?.form_schema));
      } else setError(errorText(e));
    }
  };
  return (
    <div className="card" data-testid="order-answer">
      <h3>【{order.label}】{order.title} <span className="mono muted">{order.id}</span></h3>
      <p>{order.body} <span className="muted">回复时限：{fmtTime(order.due_at)}；当前等级：{order.rung}</span></p>
      {error && <Banner kind="error">{error}</Banner>}
      {form ? (
        <FormView schema={form.form_schema as JsonObject} uiSchema={form.ui_schema as JsonObject} formData={data}
          onChange={setData} onSubmit={(d) => void submit(d)} problems={problems} submitLabel="提交情况说明"
          idPrefix={`answer-${order.id}`} />
      ) : <Loading />}
    </div>
  );
}

function Outcome({ order, onDone }: { order: OrderOut; onDone: () => void }) {
  const [text, setText] = useState("");
  const [improved, setImproved] = useState(true);
  return (
    <span>
      <input aria-label={`${order.id} 结果`} value={text} onChange={(e) => setText(e.target.value)} />
      <label><input type="checkbox" checked={improved} onChange={(e) => setImproved(e.target.checked)} />已改进</label>
      <button type="button" disabled={!text.trim()} onClick={() => void api.orderOutcome(order.id, text, improved).then(onDone)}>记录结果</button>
    </span>
  );
}
