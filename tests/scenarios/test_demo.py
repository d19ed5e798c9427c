"""``bihuan demo``: a fresh database gets demo cases in different states, once."""

from __future__ import annotations

import io

from rich.console import Console
from sqlalchemy import func, select

from demo.seed import DEMO_CASES, seed_demo
from engine.clock import ManualClock
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import AuditEvent, Case, HumanTask, UserRole, ZeroReport


def inbox(db: Database, user: str) -> list[tuple[str, str]]:
    """(case, element) of the open tasks a user may work on: assigned, or by org + role."""
    with db.session() as s:
        grants = {
            (r.org_id, r.role) for r in s.scalars(select(UserRole).where(UserRole.user_id == user))
        }
        tasks = s.scalars(select(HumanTask).where(HumanTask.state.in_(("open", "claimed"))))
        return sorted(
            (t.case_no, t.element_id)
            for t in tasks
            if t.assignee == user
            or (not t.assignee and (t.candidate_org, t.candidate_role) in grants)
        )


def test_demo_cases_in_different_states_and_seeding_twice_changes_nothing(
    settings: Settings, clock: ManualClock
) -> None:
    out = io.StringIO()
    seed_demo(settings, Console(file=out, width=120), clock=clock)
    assert "8 demo case(s) created" in out.getvalue()
    # today (a Monday) each grid worker has a 零报告 to attest, none attested by the system
    assert "零报告 opened for 2026-03-02" in out.getvalue()
    db = Database(settings.database_url)
    try:
        with db.session() as s:
            cases = {c.case_no: c for c in s.scalars(select(Case))}
        assert sorted(cases) == [c.case_no for c in DEMO_CASES]
        state = {
            no: (c.status, c.tier, c.resolved_tier, c.eval_excluded, c.escalation_count)
            for no, c in cases.items()
        }
        assert state == {
            "DEMO-2026-0001": ("CLOSED", "grid", "grid", False, 0),
            "DEMO-2026-0002": ("CLOSED", "grid", "grid", True, 0),
            "DEMO-2026-0003": ("REGISTERED", "township", None, False, 2),
            "DEMO-2026-0004": ("REGISTERED", "county", None, False, 0),
            "DEMO-2026-0005": ("SCREENING", None, None, False, 0),
            "DEMO-2026-0006": ("IN_PROGRESS", "grid", None, False, 0),
            "DEMO-2026-0007": ("REVISIT", "grid", None, False, 0),
            "DEMO-2026-0008": ("VERIFYING", "grid", None, False, 0),
        }
        assert cases["DEMO-2026-0001"].satisfaction == 4
        assert cases["DEMO-2026-0004"].case_leader == "leader01"
        assert cases["DEMO-2026-0004"].severity == "red"
        with db.session() as s:
            zero = list(s.scalars(select(ZeroReport)))
        assert {z.user_id for z in zero} >= {"grid01", "grid02"}
        assert all(z.attested_at is None and z.day == "2026-03-02" for z in zero)
        with db.session() as s:
            extended = s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.case_no == "DEMO-2026-0006",
                    AuditEvent.event_type == "deadline_extended",
                )
            )
        assert extended == 1
        # every demo user has something to do
        assert inbox(db, "town01") == [("DEMO-2026-0003", "dispatch_case")]
        assert inbox(db, "town02") == [("DEMO-2026-0005", "screen_case")]
        assert inbox(db, "village01") == [("DEMO-2026-0008", "review_result")]
        assert inbox(db, "grid01") == [("DEMO-2026-0006", "handle_case")]
        assert inbox(db, "county01") == [("DEMO-2026-0006", "approve_hang")]
        assert inbox(db, "leader01") == [  # 稳控 beside the 化解方案 (parallel)
            ("DEMO-2026-0004", "leader_plan"), ("DEMO-2026-0004", "leader_stabilize"),
        ]  # fmt: skip
        assert inbox(db, "revisit01") == [("DEMO-2026-0007", "revisit_party")]
        with db.session() as s:
            before = (
                s.scalar(select(func.count()).select_from(AuditEvent)),
                s.scalar(select(func.count()).select_from(HumanTask)),
            )
        again = io.StringIO()
        seed_demo(settings, Console(file=again, width=120), clock=clock)
        assert "8 demo case(s) already present" in again.getvalue()
        assert "(unchanged)" in again.getvalue() and "created" not in again.getvalue()
        with db.session() as s:
            after = (
                s.scalar(select(func.count()).select_from(AuditEvent)),
                s.scalar(select(func.count()).select_from(HumanTask)),
            )
        assert after == before
    finally:
        db.dispose()
