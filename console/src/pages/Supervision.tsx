// 督办 supervision: overdue and supervised cases (ladder ≥ 警示) by unit, with the ladder
// level; suspend / resume / cancel happen on the case page.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { CaseOut } from "../api/types";
import { errorText, fmtTime, label, ladderName, STATUS } from "../app/format";
import { href } from "../app/router";
import { Banner, Loading, SeverityBadge } from "../components/bits";
import { useOrgNames } from "../components/orgNames";

export function SupervisionPage() {
  const [cases, setCases] = useState<CaseOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    Promise.all([api.cases({ overdue: true, limit: 200 }), api.cases({ limit: 200 })])
      .then(([overdue, all]) => {
        const byNo = new Map<string, CaseOut>();
        const open = (c: CaseOut) => !c.closed_at && !["CLOSED", "CANCELLED", "INVALID", "MERGED", "DIVERTED"].includes(c.status);
        for (const c of overdue.items) if (open(c)) byNo.set(c.case_no, c);
        for (const c of all.items) if (c.ladder_level >= 1 && open(c)) byNo.set(c.case_no, c);
        setCases([...byNo.values()].sort((a, b) => b.ladder_level - a.ladder_level));
      })
      .catch((e) => setError(errorText(e)));
  }, []);

  const orgName = useOrgNames((cases ?? []).map((c) => c.handling_unit ?? c.owner_org ?? c.org_id));
  if (error) return <Banner kind="error">{error}</Banner>;
  if (!cases) return <Loading />;
  const units = new Map<string, CaseOut[]>();
  for (const c of cases) {
    const unit = c.handling_unit ?? c.owner_org ?? c.org_id ?? "—";
    units.set(unit, [...(units.get(unit) ?? []), c]);
  }
  return (
    <section>
      <h1>督办</h1>
      <p className="muted">在办的超期案件和督办中的案件（警示及以上），按承办单位分组。</p>
      {cases.length === 0 && <p>没有超期或督办中的案件。</p>}
      {[...units.entries()].map(([unit, list]) => (
        <div className="card" key={unit} data-testid="supervision-unit">
          <h2>
            {orgName(unit)} <span className="muted">{list.length} 件</span>
          </h2>
          <div className="table-wrap">
            <table className="grid">
              <thead>
                <tr><th>事项码</th><th>标题</th><th>状态</th><th>风险</th><th>督办等级</th><th>时限</th></tr>
              </thead>
              <tbody>
                {list.map((c) => (
                  <tr key={c.case_no}>
                    <td><a className="mono" href={href("cases", c.case_no)}>{c.case_no}</a></td>
                    <td>{c.title}</td>
                    <td>{label(STATUS, c.status)}</td>
                    <td><SeverityBadge severity={c.severity} /></td>
                    <td className={c.ladder_level >= 1 ? "overdue" : undefined}>{ladderName(c.ladder_level)}</td>
                    <td className={c.overdue ? "overdue" : undefined}>{fmtTime(c.due_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ))}
    </section>
  );
}
