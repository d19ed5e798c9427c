// 上报 a matter with the process's start form (report.schema.json for `dispute`).
import { useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import type { CaseIn, FieldProblem, JsonObject, StartFormOut } from "../api/types";
import { errorText } from "../app/format";
import { href } from "../app/router";
import { Banner, Loading } from "../components/bits";
import { FormView } from "../forms/FormView";
import { describeProblems } from "../forms/errors";

/** Fields the case itself carries (CaseIn); the rest of the start form goes into `data`. */
const CASE_FIELDS = ["title", "description", "category", "severity", "tier", "grid_code", "source_channel", "parties"] as const;

export function toCaseIn(processId: string, form: JsonObject): CaseIn {
  const body: Record<string, unknown> = { process_id: processId, data: {} };
  const data: JsonObject = {};
  for (const [k, v] of Object.entries(form)) {
    if (v === undefined) continue;
    if (k === "case_no") body.case_no = v;
    else if ((CASE_FIELDS as readonly string[]).includes(k)) body[k] = v;
    else data[k] = v;
  }
  body.data = data;
  return body as unknown as CaseIn;
}

export function ReportPage({ processId = "dispute" }: { processId?: string }) {
  const [form, setForm] = useState<StartFormOut | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [formData, setFormData] = useState<JsonObject>({});
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api
      .startForm(processId)
      .then(setForm)
      .catch((e) => setLoadError(errorText(e)));
  }, [processId]);

  async function submit(data: JsonObject) {
    setBusy(true);
    setError(null);
    setProblems([]);
    try {
      const detail = await api.report(toCaseIn(processId, data));
      setCreated(detail.case.case_no);
      setFormData({});
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        // The case fields travel at the top level, the rest under /data: point both at the form.
        const mapped = e.errors.map((p) => ({ ...p, path: p.path.replace(/^\/data(?=\/)/, "") }));
        setProblems(mapped);
        setError(`表单有误，请按提示修改：${describeProblems(mapped, form?.form_schema) || e.detail}`);
      } else setError(`上报失败：${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <h1>上报矛盾纠纷</h1>
      {created && (
        <Banner kind="ok">
          已上报，事项码{" "}
          <a href={href("cases", created)} className="mono" data-testid="created-case">
            {created}
          </a>
          。
        </Banner>
      )}
      {error && <Banner kind="error">{error}</Banner>}
      {loadError && <Banner kind="error">无法加载上报表单：{loadError}</Banner>}
      {!form && !loadError && <Loading />}
      {form?.form_schema && (
        <div className="card">
          <FormView
            schema={form.form_schema}
            uiSchema={form.ui_schema}
            formData={formData}
            onChange={setFormData}
            onSubmit={(d) => void submit(d)}
            problems={problems}
            disabled={busy}
            submitLabel="上报"
          />
        </div>
      )}
    </section>
  );
}
