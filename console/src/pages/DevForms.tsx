// #/dev/forms — a hidden page for tests and form authors: paste a JSON Schema and its UI
// schema, see the form as caseworkers will, and the data it holds (nothing invented).
import { useState } from "react";
import type { JsonObject } from "../api/types";
import { FormView } from "../forms/FormView";

export function DevFormsPage() {
  const [schemaText, setSchemaText] = useState("");
  const [uiText, setUiText] = useState("");
  const [shown, setShown] = useState<{ schema: JsonObject; ui: JsonObject | null } | null>(null);
  const [data, setData] = useState<JsonObject>({});
  const [generation, setGeneration] = useState(0);
  const [submitted, setSubmitted] = useState<JsonObject | null>(null);
  const [error, setError] = useState<string | null>(null);

  function render() {
    try {
      const schema = JSON.parse(schemaText) as JsonObject;
      const ui = uiText.trim() ? (JSON.parse(uiText) as JsonObject) : null;
      setData({});
      setSubmitted(null);
      setGeneration((g) => g + 1);
      setShown({ schema, ui });
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <section>
      <h1>表单预览</h1>
      <label>
        JSON Schema
        <textarea name="schema" rows={6} value={schemaText} onChange={(e) => setSchemaText(e.target.value)} />
      </label>
      <label>
        UI Schema
        <textarea name="uischema" rows={3} value={uiText} onChange={(e) => setUiText(e.target.value)} />
      </label>
      <button type="button" onClick={render} data-testid="render-form">
        显示表单
      </button>
      {error && <p className="error">{error}</p>}
      {shown && (
        <div className="card" key={generation}>
          <FormView schema={shown.schema} uiSchema={shown.ui} formData={data} onChange={setData}
            onSubmit={setSubmitted} submitLabel="提交（仅预览）" />
          <h2>表单数据</h2>
          <pre className="mono" data-testid="form-data">{JSON.stringify(data)}</pre>
          {submitted && (
            <>
              <h2>将提交的数据</h2>
              <pre className="mono" data-testid="form-submitted">{JSON.stringify(submitted)}</pre>
            </>
          )}
        </div>
      )}
    </section>
  );
}
