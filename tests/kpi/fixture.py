"""Seventeen dispute cases written as audit events (the only input the KPIs read).

Period under test: 2026-10 in Beijing time = [2026-09-30 16:00Z, 2026-10-31 16:00Z).
Org tree: /c/ (county) → /c/t1/ → /c/t1/v1/, /c/t1/v2/ ; /c/t2/ → /c/t2/v3/.
Every instant is 02:00Z (10:00 Beijing) of the day named, unless said otherwise.
承办单位 (handling_unit, the unit that held the work): U-A, U-B, U-C (A05 moves U-B → U-C).
"fb" = the handling unit's feedback (feedback_result, ``resolved``); "rv" = 回访 (revisit_party:
reached + problem_solved, or unreachable); "fc" = first contact (on time unless "late").

A01 v1 U-A  registered Oct 2 (village, due Oct 9), dispatched; fc Oct 3; fb Oct 6 resolved; check
            passed (inferred from the next task revisit_party); rv Oct 8 reached, solved;
            closed Oct 8 at village; satisfaction 5.                                    → 化解
A02 v1 U-A  registered Oct 3 (due Oct 10); unit returns it (sign_decision=return); return approved
            Oct 4 (错派); fc Oct 5 late; fb Oct 9 resolved (on time at the feedback); closed
            Oct 12 — late at 办结; rv reached, solved; satisfaction 4.                   → 化解
A03 v1 U-A  registered Oct 5 (due Oct 20); fb Oct 14; check failed Oct 15 (next task handle_case
            → rework; back IN_PROGRESS clears that feedback); fb again Oct 17 resolved; rv
            Oct 18 reached, NOT solved; closed Oct 18 at village; satisfaction 2, eval_excluded.
A04 v2 U-B  registered Oct 6 (due Oct 16), dispatched; still open; 督办 警示 Oct 17, 通报 Oct 25.
A05 v2 U-B→U-C registered Oct 7 at village; fb Oct 9 NOT resolved; escalated village→township
            Oct 10 (back to DISPATCHED, to U-C), township→county Oct 14; due Oct 30; fb Oct 26
            resolved; rv Oct 28 reached, solved; closed Oct 28 at county; satisfaction 3.  → 化解
A06 v2 U-B  registered and dispatched Sep 20 (due Sep 30 02:00Z, before the period); fb Sep 29
            resolved; rv Oct 3 reached, NOT solved; closed Oct 3 at village; satisfaction 2.
A07 v3 U-C  registered Oct 9 (township, due Nov 10); mediation agreement Oct 12 (explicit);
            judicial confirmation applied Oct 14; fb Oct 16 resolved; rv Oct 20 reached,
            solved, agreement performed; closed Oct 20 at township; satisfaction 5.     → 化解
A08 v3 U-C  registered Oct 10 (township, due Oct 25); mediation Oct 15 without the field (next
            task feedback_result → agreement); fb Oct 16 resolved; rv unreachable Oct 18, 21,
            24 (the party never reached); closed Oct 24 at township.  (the defect: not 化解)
A09 v3 U-B  registered Oct 11 (village, due Oct 18); returned at sign (inferred from next task
            return_review), return denied Oct 12 (不当退单); fc Oct 12; fb Oct 16 resolved; rv
            Oct 17 reached, not solved; closed Oct 17 (satisfaction 2); reopened Oct 20 with a
            fresh due Oct 30 (clears the round); fb Oct 25 resolved; rv Oct 26 reached, solved;
            closed again Oct 26 at village; satisfaction 4.                             → 化解
A10 v1      reported Oct 5, screened INVALID Oct 6: never registered.
A11 v1 U-A  registered Oct 20 (due Nov 5), dispatched; fb Oct 27; check failed Oct 28 (explicit
            "rework"), back IN_PROGRESS; open.
A12 v3 U-B  registered Oct 25 (due Oct 29), dispatched; fc Oct 26; open; 提示 (level 0) Oct 27 —
            not 督办.
A13 v1      reported Oct 31 12:00Z (in the period) but registered Nov 2: after the period.
A14 v1 U-A  registered Oct 1 (due Oct 5), dispatched; 警示 Oct 6; fb Oct 7 resolved (late);
            closed Nov 3 — after the period.
A15 v3 U-B  registered Oct 3 at grid (due Oct 4 02:00Z), dispatched; explicit dispatch_corrected
            event Oct 3; fb Oct 3 20:00Z resolved; closed Oct 4 02:00Z exactly at the due time
            (on time) at grid; no 回访 (nothing confirms the resolution).
A16 v1 U-A  red; registered Sep 25 (county, due Oct 10); fb Oct 8 resolved; rv Oct 9 reached,
            solved; closed Oct 9 at county; satisfaction 4.       → 化解; a red case cleared
A17 v2 U-C  red; registered Sep 28 (county, due Nov 20); open at the period end (not cleared).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.audit.log import SYSTEM, Actor, AuditLog

CLERK = Actor("li", "township_center", "t1")
PATHS = {"v1": "/c/t1/v1/", "v2": "/c/t1/v2/", "v3": "/c/t2/v3/"}


def day(month: int, d: int, hour: int = 2) -> datetime:
    return datetime(2026, month, d, hour, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


class Writer:
    def __init__(self, session: Session, case_no: str, unit: str) -> None:
        self.s, self.case_no, self.path = session, case_no, PATHS[unit]

    def command(self, at: datetime, *events: tuple[str, dict[str, Any]]) -> Writer:
        log = AuditLog(self.s, self.case_no, None, at, self.path)
        for kind, kw in events:
            log.add(kind, kw.pop("actor", CLERK), **kw)
        log.flush()
        return self

    def started(self, at: datetime) -> Writer:
        return self.command(at, ("instance_started", {"data_after": {"title": self.case_no}}))

    def update(self, at: datetime, before: dict[str, Any], after: dict[str, Any]) -> Writer:
        return self.command(at, ("case_updated", {"data_before": before, "data_after": after}))

    def register(
        self,
        at: datetime,
        tier: str,
        due: datetime,
        dispatch: bool = True,
        unit: str | None = None,
        severity: str = "blue",
    ) -> Writer:
        self.started(at)
        status = "DISPATCHED" if dispatch else "REGISTERED"
        after = {"status": status, "tier": tier, "due_at": iso(due), "severity": severity}
        if unit:
            after["handling_unit"] = unit
        return self.update(
            at, {"status": "REPORTED", "tier": None, "due_at": None, "severity": None}, after
        )

    def complete(
        self,
        at: datetime,
        element: str,
        data: dict[str, Any],
        next_task: str | None = None,
        late: bool = False,
    ) -> Writer:
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "task_completed",
                {
                    "element_id": element,
                    "data_before": {},
                    "data_after": data,
                    "late": late,
                    "due_at": None,
                },
            )
        ]
        if next_task:
            events.append(("task_created", {"actor": SYSTEM, "element_id": next_task}))
        return self.command(at, *events)

    def contact(self, at: datetime, late: bool = False) -> Writer:
        return self.complete(at, "first_contact", {"parties_reached": True}, late=late)

    def feedback(self, at: datetime, resolved: bool = True) -> Writer:
        return self.complete(at, "feedback_result", {"resolved": resolved})

    def revisit(
        self, at: datetime, solved: bool | None = True, performed: bool | None = None
    ) -> Writer:
        """``solved`` None: the party not reached."""
        if solved is None:
            return self.complete(at, "revisit_party", {"contact_result": "unreachable"})
        data: dict[str, Any] = {"contact_result": "reached", "problem_solved": solved}
        if performed is not None:
            data["agreement_performed"] = performed
        return self.complete(at, "revisit_party", data)

    def back_to_handling(self, at: datetime) -> Writer:
        return self.update(at, {"status": "VERIFYING"}, {"status": "IN_PROGRESS"})

    def close(
        self,
        at: datetime,
        tier: str,
        satisfaction: int | None = None,
        excluded: bool = False,
        status_before: str = "REVISIT",
    ) -> Writer:
        after: dict[str, Any] = {"status": "CLOSED", "closed_at": iso(at), "resolved_tier": tier}
        if satisfaction is not None:
            after["satisfaction"] = satisfaction
        if excluded:
            after["eval_excluded"] = True
        return self.update(at, {"status": status_before, "closed_at": None}, after)


def write_fixture(s: Session) -> None:
    W = Writer
    (
        W(s, "A01", "v1")
        .register(day(10, 2), "village", day(10, 9), unit="U-A")
        .contact(day(10, 3))
        .feedback(day(10, 6))
        .complete(day(10, 7), "review_result", {}, next_task="revisit_party")
        .revisit(day(10, 8, 1))
        .close(day(10, 8), "village", 5)
    )
    (
        W(s, "A02", "v1")
        .register(day(10, 3), "village", day(10, 10), unit="U-A")
        .complete(day(10, 3, 5), "sign_case", {"sign_decision": "return"}, "return_review")
        .complete(day(10, 4), "return_review", {"return_approved": True}, "dispatch_case")
        .contact(day(10, 5), late=True)
        .feedback(day(10, 9))
        .revisit(day(10, 12, 1))
        .close(day(10, 12), "village", 4)
    )
    (
        W(s, "A03", "v1")
        .register(day(10, 5), "village", day(10, 20), unit="U-A")
        .feedback(day(10, 14))
        .complete(day(10, 15), "review_result", {}, next_task="handle_case")
        .back_to_handling(day(10, 15, 3))
        .feedback(day(10, 17))
        .revisit(day(10, 18, 1), solved=False)
        .close(day(10, 18), "village", 2, excluded=True)
    )
    (
        W(s, "A04", "v2")
        .register(day(10, 6), "village", day(10, 16), unit="U-B")
        .update(day(10, 17), {"ladder_level": -1}, {"ladder_level": 1})
        .update(day(10, 25), {"ladder_level": 1}, {"ladder_level": 2})
    )
    (
        W(s, "A05", "v2")
        .register(day(10, 7), "village", day(10, 30), unit="U-B")
        .feedback(day(10, 9), resolved=False)
        .update(
            day(10, 10),
            {"status": "FEEDBACK", "tier": "village", "handling_unit": "U-B"},
            {"status": "DISPATCHED", "tier": "township", "handling_unit": "U-C"},
        )
        .update(
            day(10, 14),
            {"tier": "township", "escalation_count": 1},
            {"tier": "county", "escalation_count": 2},
        )
        .feedback(day(10, 26))
        .revisit(day(10, 28, 1))
        .close(day(10, 28), "county", 3)
    )
    (
        W(s, "A06", "v2")
        .register(day(9, 20), "village", day(9, 30), unit="U-B")
        .feedback(day(9, 29))
        .revisit(day(10, 3, 1), solved=False)
        .close(day(10, 3), "village", 2)
    )
    (
        W(s, "A07", "v3")
        .register(day(10, 9), "township", day(11, 10), unit="U-C")
        .complete(
            day(10, 12),
            "mediate_case",
            {"mediation_outcome": "agreement", "jc_requested": True},
            "judicial_confirmation",
        )
        .complete(day(10, 14), "judicial_confirmation", {"jc_applied_at": "2026-10-14"})
        .feedback(day(10, 16))
        .revisit(day(10, 20, 1), performed=True)
        .close(day(10, 20), "township", 5)
    )
    (
        W(s, "A08", "v3")
        .register(day(10, 10), "township", day(10, 25), unit="U-C")
        .complete(day(10, 15), "mediate_case", {}, next_task="feedback_result")
        .feedback(day(10, 16))
        .revisit(day(10, 18), solved=None)
        .revisit(day(10, 21), solved=None)
        .revisit(day(10, 24, 1), solved=None)
        .close(day(10, 24), "township")
    )
    (
        W(s, "A09", "v3")
        .register(day(10, 11), "village", day(10, 18), unit="U-B")
        .complete(day(10, 11, 5), "sign_case", {}, next_task="return_review")
        .complete(day(10, 12), "return_review", {"return_approved": False}, "first_contact")
        .contact(day(10, 12, 5))
        .feedback(day(10, 16))
        .revisit(day(10, 17, 1), solved=False)
        .close(day(10, 17), "village", 2)
        .update(
            day(10, 20),
            {"status": "CLOSED", "reopen_count": 0, "due_at": iso(day(10, 18))},
            {"status": "DISPATCHED", "reopen_count": 1, "due_at": iso(day(10, 30))},
        )
        .feedback(day(10, 25))
        .revisit(day(10, 26, 1))
        .close(day(10, 26), "village", 4)
    )
    (
        W(s, "A10", "v1")
        .started(day(10, 5))
        .update(day(10, 5), {"status": "REPORTED"}, {"status": "SCREENING"})
        .update(
            day(10, 6),
            {"status": "SCREENING", "closed_at": None},
            {"status": "INVALID", "closed_at": iso(day(10, 6))},
        )
    )
    (
        W(s, "A11", "v1")
        .register(day(10, 20), "village", day(11, 5), unit="U-A")
        .feedback(day(10, 27))
        .complete(day(10, 28), "review_result", {"review_decision": "rework"}, "handle_case")
        .back_to_handling(day(10, 28, 3))
    )
    (
        W(s, "A12", "v3")
        .register(day(10, 25), "village", day(10, 29), unit="U-B")
        .contact(day(10, 26))
        .update(day(10, 27), {"ladder_level": -1}, {"ladder_level": 0})
    )
    (
        W(s, "A13", "v1")
        .started(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
        .update(
            day(11, 2),
            {"status": "REPORTED", "tier": None, "due_at": None},
            {"status": "DISPATCHED", "tier": "village", "due_at": iso(day(11, 9))},
        )
    )
    (
        W(s, "A14", "v1")
        .register(day(10, 1), "village", day(10, 5), unit="U-A")
        .update(day(10, 6), {"ladder_level": -1}, {"ladder_level": 1})
        .feedback(day(10, 7))
        .close(day(11, 3), "village", 4)
    )
    (
        W(s, "A15", "v3")
        .register(day(10, 3), "grid", day(10, 4), unit="U-B")
        .command(day(10, 3, 4), ("dispatch_corrected", {"reason": "派错网格"}))
        .feedback(day(10, 3, 20))
        .close(day(10, 4), "grid")
    )
    (
        W(s, "A16", "v1")
        .register(day(9, 25), "county", day(10, 10), unit="U-A", severity="red")
        .feedback(day(10, 8))
        .revisit(day(10, 9, 1))
        .close(day(10, 9), "county", 4)
    )
    (W(s, "A17", "v2").register(day(9, 28), "county", day(11, 20), unit="U-C", severity="red"))
