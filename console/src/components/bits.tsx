import type { ReactNode } from "react";
import { fmtTime, SEVERITY } from "../app/format";

export function SeverityBadge({ severity }: { severity: string | null | undefined }) {
  if (!severity) return null;
  return <span className={`badge sev-${severity}`}>{SEVERITY[severity] ?? severity}</span>;
}

export function Due({ at, overdue }: { at: string | null | undefined; overdue?: boolean }) {
  if (!at) return <span className="muted">无时限</span>;
  return (
    <span className={overdue ? "overdue" : undefined} data-overdue={overdue ? "1" : undefined}>
      {overdue ? "已超期 " : "时限 "}
      {fmtTime(at)}
    </span>
  );
}

export function Banner({ kind, children }: { kind: "error" | "ok" | "warn"; children: ReactNode }) {
  return (
    <div className={`banner ${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

export function Loading() {
  return <div className="loading">正在加载…</div>;
}
