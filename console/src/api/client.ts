// The one module that talks to the server: same origin, /api/v1 only, bearer token from
// sessionStorage. Every screen goes through `api` below.
import type * as T from "./types";

const TOKEN_KEY = "bihuan.token";
export const API = "/api/v1";

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** A problem answer (RFC 9457 style) from the server, or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors: T.FieldProblem[];
  readonly problems: T.BundleProblem[];

  constructor(status: number, body: Partial<T.Problem> | null, fallback: string) {
    super(body?.detail ?? fallback);
    this.status = status;
    this.code = body?.code ?? (status === 0 ? "network" : `http_${status}`);
    this.detail = body?.detail ?? fallback;
    this.errors = body?.errors ?? [];
    this.problems = body?.problems ?? [];
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
/** Called when the server answers 401 (expired or revoked token): the shell signs out. */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export type Query = Record<string, string | number | boolean | string[] | null | undefined>;

export function qs(query: Query | undefined): string {
  if (!query) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

export interface RequestOptions {
  method?: string;
  query?: Query;
  body?: unknown;
  form?: FormData;
  idempotencyKey?: string;
  accept?: string;
  signal?: AbortSignal;
}

async function send(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: opts.accept ?? "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
  let body: BodyInit | undefined;
  if (opts.form) body = opts.form;
  else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(`${API}${path}${qs(opts.query)}`, {
      method: opts.method ?? (body ? "POST" : "GET"),
      headers,
      body,
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, null, "无法连接服务器 (cannot reach the server)");
  }
  if (!res.ok) {
    let problem: Partial<T.Problem> | null = null;
    try {
      problem = (await res.json()) as Partial<T.Problem>;
    } catch {
      problem = null;
    }
    const err = new ApiError(res.status, problem, `${res.status} ${res.statusText}`);
    if (res.status === 401 && token) unauthorizedListeners.forEach((fn) => fn());
    throw err;
  }
  return res;
}

export async function request<R>(path: string, opts: RequestOptions = {}): Promise<R> {
  const res = await send(path, opts);
  if (res.status === 204) return undefined as R;
  return (await res.json()) as R;
}

export async function requestText(path: string, opts: RequestOptions = {}): Promise<string> {
  return (await send(path, opts)).text();
}

export async function requestBlob(path: string, opts: RequestOptions = {}): Promise<Blob> {
  return (await send(path, opts)).blob();
}

export function newKey(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

export const api = {
  login: (username: string, password: string) =>
    request<T.TokenOut>("/auth/token", { body: { username, password } }),
  me: () => request<T.PrincipalOut>("/auth/me"),

  // tasks (待办)
  tasks: (query: Query) => request<T.TaskPage>("/tasks", { query }),
  task: (id: string) => request<T.TaskDetailOut>(`/tasks/${encodeURIComponent(id)}`),
  claim: (id: string) => request<T.TaskOut>(`/tasks/${encodeURIComponent(id)}/claim`, { method: "POST" }),
  unclaim: (id: string) =>
    request<T.TaskOut>(`/tasks/${encodeURIComponent(id)}/unclaim`, { method: "POST" }),
  assign: (id: string, assignee: string, reason: string) =>
    request<T.TaskOut>(`/tasks/${encodeURIComponent(id)}/assign`, { body: { assignee, reason } }),
  comment: (id: string, text: string) =>
    request<T.CommentOut>(`/tasks/${encodeURIComponent(id)}/comments`, { body: { text } }),
  complete: (id: string, data: Record<string, unknown>, expectedVersion?: number) =>
    request<T.TaskOut>(`/tasks/${encodeURIComponent(id)}/complete`, {
      body: { data, expected_version: expectedVersion },
      idempotencyKey: newKey(`complete-${id}`),
    }),

  // cases (案件)
  cases: (query: Query) => request<T.CasePage>("/cases", { query }),
  caseDetail: (caseNo: string) => request<T.CaseDetailOut>(`/cases/${encodeURIComponent(caseNo)}`),
  report: (body: T.CaseIn) => request<T.CaseDetailOut>("/cases", { body, idempotencyKey: newKey("report") }),
  history: (caseNo: string, query?: Query) =>
    request<T.HistoryPage>(`/cases/${encodeURIComponent(caseNo)}/history`, { query }),
  caseAction: (caseNo: string, action: "suspend" | "resume" | "cancel", reason: string | null) =>
    request<T.CaseDetailOut>(`/cases/${encodeURIComponent(caseNo)}/${action}`, { body: { reason } }),

  // evidence (证据材料)
  attachments: (caseNo: string) =>
    request<T.AttachmentList>(`/cases/${encodeURIComponent(caseNo)}/attachments`),
  attach: (caseNo: string, form: FormData) =>
    request<T.AttachmentOut>(`/cases/${encodeURIComponent(caseNo)}/attachments`, { form }),
  attachmentBlob: (id: string) =>
    requestBlob(`/attachments/${encodeURIComponent(id)}`, { query: { inline: true }, accept: "*/*" }),

  // definitions (流程定义)
  definitions: () => request<T.DefinitionOut[]>("/definitions"),
  definitionXml: (processId: string, version: number) =>
    requestText(`/definitions/${encodeURIComponent(processId)}/versions/${version}/xml`, {
      accept: "application/xml",
    }),
  deploy: (form: FormData) => request<T.DeployedOut[]>("/definitions", { form }),
  validate: (form: FormData) => request<T.ValidationOut>("/definitions/validate", { form }),

  // pickers (org-picker / user-picker)
  orgs: (query: Query) => request<T.OrgOut[]>("/orgs", { query }),
  directoryUsers: (query: Query) => request<T.DirectoryUserOut[]>("/directory/users", { query }),

  users: () => request<T.UserOut[]>("/users"),
  calendar: () => request<Record<string, unknown>>("/admin/calendar"),

  // start form (上报)
  startForm: (processId: string) =>
    request<T.StartFormOut>(`/definitions/${encodeURIComponent(processId)}/start-form`),

  // audit (审计) and KPIs
  timeline: (caseNo: string) => request<T.TimelineOut>(`/cases/${encodeURIComponent(caseNo)}/timeline`),
  auditEvents: (query: Query) => request<T.AuditPage>("/audit/events", { query }),
  auditExport: (query: Query) => requestBlob("/audit/export", { query, accept: "text/csv" }),
  verify: (caseNo?: string) => request<T.VerifyOut>("/audit/verify", { query: { case_no: caseNo } }),
  kpis: (period: string, org?: string) => request<T.KpiReportOut>("/kpis", { query: { period, org } }),

  // periodic reports (日排查·周汇总·月研判) and the grid worker's 零报告
  periodicReports: (query: Query) => request<T.ReportSummaryOut[]>("/reports", { query }),
  periodicReport: (id: number) => request<T.ReportOut>(`/reports/${id}`),
  zeroReports: (state: "open" | "all" = "open") => request<T.ZeroReportOut[]>("/zero-reports", { query: { state } }),
  attestZeroReport: (id: number, body: Record<string, unknown>) =>
    request<T.ZeroReportOut>(`/zero-reports/${id}/attest`, { body }),
  // 督办 (human supervision orders) and notices
  orders: (query: Query) => request<T.OrderList>("/supervision/orders", { query }),
  issueOrder: (body: T.OrderIn) => request<T.OrderOut>("/supervision/orders", { body }),
  answerForm: () => request<T.AnswerFormOut>("/supervision/answer-form"),
  answerOrder: (id: string, form: Record<string, unknown>) =>
    request<T.OrderOut>(`/supervision/orders/${encodeURIComponent(id)}/answer`, { body: form }),
  orderOutcome: (id: string, outcome: string, improved: boolean) =>
    request<T.OrderOut>(`/supervision/orders/${encodeURIComponent(id)}/outcome`, { body: { outcome, improved } }),
  notices: (query: Query) => request<T.NoticeList>("/notifications", { query }),
  ackNotice: (id: number) => request<T.NoticeOut>(`/notifications/${id}/ack`, { method: "POST" }),
};
