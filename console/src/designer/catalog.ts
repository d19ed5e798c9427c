// The values the properties panel offers: forms in the bundle, deadline keys, case statuses,
// lane names and decisions. Taken from the server where it exposes them (the bundle's files,
// the designer catalog) and, always, from what the opened diagram already uses, so a designer
// picks from what exists instead of typing names.

export interface Option {
  value: string;
  label: string;
}

export interface Catalog {
  forms: string[];
  uiForms: string[];
  deadlines: Option[];
  statuses: Option[];
  lanes: string[];
  decisions: string[];
}

/** What `GET /definitions/catalog` answers (when the server has it). */
export interface ServerCatalog {
  deadline_keys?: { key: string; title?: string | null }[];
  lanes?: string[];
  case_statuses?: { code: string; label?: string | null }[];
}

// Labels of the case states a task may set (engine/kpi/labels.py STATUS), used when the server
// does not send its own.
const STATUS_LABEL: Record<string, string> = {
  REPORTED: "已上报",
  SCREENING: "甄别中",
  REGISTERED: "已立案",
  DISPATCHED: "已交办",
  SIGNED: "已签收",
  RETURN_REQUESTED: "退单审核中",
  IN_PROGRESS: "处置中",
  FEEDBACK: "已反馈",
  VERIFYING: "核查中",
  REVISIT: "回访中",
};

const SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
const BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";
const DMN_NS = [
  "https://www.omg.org/spec/DMN/20191111/MODEL/",
  "http://www.omg.org/spec/DMN/20180521/MODEL/",
  "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
];

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((v) => v !== "").sort();
}

export interface BundleText {
  filename: string;
  text: string;
}

/** Build the catalog from the bundle's files (BPMN and DMN text, form names) and the server's. */
export function buildCatalog(files: BundleText[], formNames: string[], server?: ServerCatalog): Catalog {
  const forms = new Set<string>();
  const uiForms = new Set<string>();
  const deadlines = new Map<string, string>();
  const statuses = new Map<string, string>();
  const lanes = new Set<string>();
  const decisions = new Set<string>();

  for (const name of formNames) (name.endsWith(".uischema.json") ? uiForms : forms).add(name);
  for (const d of server?.deadline_keys ?? []) deadlines.set(d.key, d.title ? `${d.key} — ${d.title}` : d.key);
  for (const s of server?.case_statuses ?? []) statuses.set(s.code, s.label ? `${s.label} ${s.code}` : s.code);
  for (const l of server?.lanes ?? []) lanes.add(l);

  const parser = new DOMParser();
  for (const f of files) {
    const doc = parser.parseFromString(f.text, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) continue;
    if (f.filename.toLowerCase().endsWith(".dmn")) {
      for (const ns of DMN_NS)
        for (const d of Array.from(doc.getElementsByTagNameNS(ns, "decision"))) decisions.add(d.getAttribute("id") ?? "");
      continue;
    }
    for (const p of Array.from(doc.getElementsByTagNameNS(SPIFF, "property"))) {
      const name = p.getAttribute("name");
      const value = p.getAttribute("value") ?? "";
      if (name === "formJsonSchemaFilename") forms.add(value);
      if (name === "formUiSchemaFilename") uiForms.add(value);
      if (name === "deadline" && !deadlines.has(value)) deadlines.set(value, value);
      if (name === "caseStatus" && !statuses.has(value))
        statuses.set(value, STATUS_LABEL[value] ? `${STATUS_LABEL[value]} ${value}` : value);
    }
    for (const d of Array.from(doc.getElementsByTagNameNS(SPIFF, "calledDecisionId")))
      decisions.add((d.textContent ?? "").trim());
    for (const l of Array.from(doc.getElementsByTagNameNS(BPMN, "lane"))) lanes.add(l.getAttribute("name") ?? "");
  }
  for (const [code, label] of Object.entries(STATUS_LABEL))
    if (!statuses.has(code)) statuses.set(code, `${label} ${code}`);

  const options = (m: Map<string, string>): Option[] =>
    sorted(m.keys()).map((value) => ({ value, label: m.get(value) ?? value }));
  return {
    forms: sorted(forms),
    uiForms: sorted(uiForms),
    deadlines: options(deadlines),
    statuses: options(statuses),
    lanes: sorted(lanes),
    decisions: sorted(decisions),
  };
}
