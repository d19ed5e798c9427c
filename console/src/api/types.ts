// Types of the API's bodies, taken from the generated `openapi.d.ts` (run `npm run openapi`
// after refreshing console/openapi.json; tests/browser/test_openapi_sync.py keeps that file
// equal to the app's /openapi.json).
import type { components } from "./openapi";

type S = components["schemas"];

export type TokenOut = S["TokenOut"];
export type GrantOut = S["GrantOut"];
export type PrincipalOut = S["PrincipalOut"];
export type FieldProblem = S["FieldProblem"];
export type BundleProblem = S["BundleProblem"];
export type Problem = S["Problem"];
export type TaskOut = S["TaskOut"];
export type TaskPage = S["TaskPage"];
export type TaskDetailOut = S["TaskDetailOut"];
export type CommentOut = S["CommentOut"];
export type CaseIn = S["CaseIn"];
export type CaseOut = S["CaseOut"];
export type CasePage = S["CasePage"];
export type CaseDetailOut = S["CaseDetailOut"];
export type HistoryOut = S["HistoryOut"];
export type HistoryPage = S["HistoryPage"];
export type DefinitionOut = S["DefinitionOut"];
export type DeployedOut = S["DeployedOut"];
export type ValidationOut = S["ValidationOut"];
export type AuditEventOut = S["AuditEventOut"];
export type AuditPage = S["AuditPage"];
export type TimelineOut = S["TimelineOut"];
export type TimelineStepOut = S["TimelineStepOut"];
export type ElementStateOut = S["ElementStateOut"];
export type VerifyOut = S["VerifyOut"];
export type KpiReportOut = S["KpiReportOut"];
export type KpiSetOut = S["KpiSetOut"];
export type UnitKpisOut = S["UnitKpisOut"];
export type UserOut = S["PrincipalOut"];

export type OrgOut = S["OrgOut"];
export type DirectoryUserOut = S["DirectoryUserOut"];

export type StartFormOut = S["StartFormOut"];
export type ReportSummaryOut = S["ReportSummaryOut"];
export type ReportOut = S["ReportOut"];
export type ZeroReportOut = S["ZeroReportOut"];

export type JsonObject = Record<string, unknown>;

export type AttachmentOut = S["AttachmentOut"];
export type AttachmentList = S["AttachmentList"];
// 督办 and notices
export type OrderIn = S["OrderIn"];
export type OrderOut = S["OrderOut"];
export type OrderList = S["OrderList"];
export type AnswerFormOut = S["AnswerFormOut"];
export type NoticeOut = S["NoticeOut"];
export type NoticeList = S["NoticeList"];
