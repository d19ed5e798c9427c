"""The rule triggers of the ladder (``supervision_ladder.triggers`` in deadlines.yaml) that act
on units and cases rather than on one deadline, each exactly once (a unique ``dedupe_key``):

* ``circular_overdue_cases_per_unit_month`` — a unit with that many cases overdue in a calendar
  month (Beijing time) gets a 通报, once per unit and month (the daily job);
* ``circular_on_improper_return`` — a 退单 judged improper at the return review (the reviewer
  refused it) → a 通报 to the unit that returned it, once per review;
* ``inspection_major_risk_unresolved`` — an open case with a major risk (民转刑 ``criminal_risk``,
  群体性 ``group``) past its handling limit → 督查, once per case (the daily job).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.audit import SCHEDULER, Actor, AuditLog
from engine.clock import CHINA, as_utc
from engine.storage.models import Case, Instance, OrgUnit, SupervisionOrder
from engine.supervision.core import CLOSED
from engine.supervision.orders import Orders

#: The daily run of the rule triggers, Beijing time (after the day's deadlines have passed).
TRIGGERS_CRON = "10 0 * * *"
MAJOR_RISKS = frozenset({"criminal_risk", "group"})


class Triggers(Orders):
    """The count and risk rules, and the improper-return hook."""

    def rule_triggers_job(self, session: Session, fire_time: datetime, now: datetime) -> None:
        """The periodic job (``job(session, fire_time, now)``)."""
        self.run_triggers(session, now)

    def run_triggers(self, session: Session, now: datetime) -> int:
        """Evaluate the count and risk rules at ``now``; returns how many orders were issued."""
        triggers = self.policy.ladder.triggers
        issued = 0
        if triggers.circular_overdue_cases_per_unit_month > 0:
            issued += self._overdue_circulars(
                session, now, triggers.circular_overdue_cases_per_unit_month
            )
        if triggers.inspection_major_risk_unresolved:
            issued += self._major_risk_inspections(session, now)
        return issued

    def improper_return(self, session: Session, case: Case, audit: AuditLog, actor: Actor,
                        review_id: str, opinion: str, now: datetime) -> None:  # fmt: skip
        """A refused 退单: the unit that returned the case gets a 通报 (once per review)."""
        if not self.policy.ladder.triggers.circular_on_improper_return:
            return
        unit = case.handling_unit or case.owner_org
        key = f"improper_return:{review_id}"
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit)) if unit else None
        if unit is None or path is None or _exists(session, key):
            return
        self.new_order(
            session, now, actor, kind="circular", case=case, unit=unit, path=path,
            title=f"不当退单通报：{case.case_no}", body=f"退单审核认定退单理由不成立。{opinion}",
            trigger="improper_return", dedupe_key=key, audit=audit,
        )  # fmt: skip

    # ---------------------------------------------------------------- the rules
    def _overdue_circulars(self, session: Session, now: datetime, threshold: int) -> int:
        local = as_utc(now).astimezone(CHINA)
        month_start = as_utc(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
        rows = session.execute(
            select(Case.handling_unit, Case.owner_org, Case.case_no)
            .where(Case.due_at >= month_start, Case.due_at < now)
            .where(or_(Case.closed_at.is_(None), Case.closed_at > Case.due_at))
        ).all()
        per_unit = Counter(unit or owner for unit, owner, _ in rows if unit or owner)
        month = f"{local.year:04d}-{local.month:02d}"
        issued = 0
        for unit, count in sorted(per_unit.items()):
            key = f"overdue_cases:{unit}:{month}"
            path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit))
            if count < threshold or path is None or _exists(session, key):
                continue
            cases = sorted(no for u, o, no in rows if (u or o) == unit)
            self.new_order(
                session, now, SCHEDULER, kind="circular", case=None, unit=unit, path=path,
                title=f"{month} 月超期案件通报：{count} 件",
                body=f"本月超期未办结案件 {count} 件（{'、'.join(cases[:20])}），予以通报。",
                trigger="overdue_cases", dedupe_key=key,
            )  # fmt: skip
            issued += 1
        return issued

    def _major_risk_inspections(self, session: Session, now: datetime) -> int:
        candidates = session.scalars(
            select(Case).where(Case.closed_at.is_(None), Case.due_at < now)
        ).all()
        issued = 0
        for case in candidates:
            flags = set((case.fields or {}).get("risk_flags") or [])
            flags |= set((case.fields or {}).get("red_criteria") or [])
            if case.status in CLOSED or not flags & MAJOR_RISKS:
                continue
            key = f"major_risk:{case.case_no}"
            unit = case.handling_unit or case.owner_org
            path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit)) if unit else None
            if unit is None or path is None or _exists(session, key):
                continue
            lock = select(Instance.id).where(Instance.id == case.instance_id).with_for_update()
            session.execute(lock)
            risks = "、".join(sorted(flags & MAJOR_RISKS))
            self.new_order(
                session, now, SCHEDULER, kind="inspection", case=case, unit=unit, path=path,
                title=f"重大风险未化解督查：{case.case_no}",
                body=f"案件「{case.title}」存在重大风险（{risks}），超过办理时限仍未化解，启动督查。",
                trigger="major_risk", dedupe_key=key,
            )  # fmt: skip
            issued += 1
        return issued


def _exists(session: Session, key: str) -> bool:
    found = session.scalar(select(SupervisionOrder.id).where(SupervisionOrder.dedupe_key == key))
    return found is not None
