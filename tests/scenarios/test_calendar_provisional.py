"""A red case whose limit reaches a year without an official holiday table (issue 11 §2).

Today is 2026-12-03 and the shipped tables end in 2026. Dispatching a red case (30 days,
民法典 201/203) must not fail: its due time is computed from the statutory holidays and weekends
of 2027 and marked provisional (暂定). Then the operator loads a 2027 table with
``bihuan calendar load FILE`` — another process, as in production — and the stored deadline, the
ladder's due items and the rows the inbox reads move, once. Runs on SQLite and PostgreSQL; the
driver reloads the workflow from the database before every step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.calendar import make_calendar_app
from demo import scenarios as sc
from demo.scenarios import Driver
from engine.clock import CHINA, ManualClock
from engine.reads import CaseView
from engine.runtime import Engine
from engine.storage.models import DueItem
from engine.supervision import Supervision
from engine.workdays import PROVISIONAL_LABEL
from tests.engine.support import case
from tests.scenarios.support import GRID_WORKER, details

TABLE = Path(__file__).resolve().parents[1] / "fixtures" / "calendar" / "holidays-2027-test.yaml"
DISPATCHED_AT = datetime(2026, 12, 3, 10, 0, tzinfo=CHINA)
# 30 days: last day 2027-01-02 (Saturday, 元旦 weekend) → the next working day, due at its 24:00
PROVISIONAL_DUE = datetime(2027, 1, 5, 0, 0, tzinfo=CHINA)  # statutory: Monday 1/4 works
OFFICIAL_DUE = datetime(2027, 1, 6, 0, 0, tzinfo=CHINA)  # the loaded table rests on 1/4 too


def case_rungs(engine: Engine, case_no: str) -> list[tuple[str, str, datetime]]:
    """(rung, state, due) of the case's ladder items, by generation."""
    with engine.db.session() as s:
        rows = s.scalars(
            select(DueItem)
            .where(DueItem.case_no == case_no, DueItem.kind == "ladder", DueItem.task_id.is_(None))
            .order_by(DueItem.id)
        )
        return [
            (f"{r.payload['rung']}@{r.payload['gen']}", r.state, r.due_at.astimezone(CHINA))
            for r in rows
        ]


def load(db_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> str:
    """``bihuan calendar load FILE`` as the operator runs it (its own engine, same database)."""
    monkeypatch.setenv("BIHUAN_DATABASE_URL", db_url)
    result = CliRunner().invoke(make_calendar_app(lambda: clock), ["load", str(TABLE)])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_red_case_reaching_2027_is_dispatched_provisionally_then_recomputed(
    dispute: Engine,
    driver: Driver,
    clock: ManualClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock.set(DISPATCHED_AT.astimezone(UTC))
    no = "MD-CAL-1"
    driver.start(no, sc.report(no, "qs-xh-sq-01", risk_flags=["group"], party_count=35),
                 GRID_WORKER)  # fmt: skip
    driver.run_all(no, [sc.screen_red(), *sc.leader_steps(clock.now()), sc.dispatch("qs-rsj")])

    # dispatched, not refused: the limit is provisional
    c = case(dispute.db, no)
    assert (c.status, c.severity) == ("DISPATCHED", "red")
    assert c.due_at == PROVISIONAL_DUE and c.due_provisional
    assert c.due_rule is not None and c.due_rule.startswith(PROVISIONAL_LABEL)
    record = c.fields["supervision"]["case"]
    assert record["provisional"] is True and record["uncovered_years"] == [2027]
    view = CaseView.of(c, clock.now())
    assert view.due_provisional and view.due_label == "暂定（待官方调休安排）"
    [deadline_set] = details(dispute.db, no, "deadline_set")
    assert deadline_set["confidence"] == "low"
    before = case_rungs(dispute, no)
    assert ("interview@1", "pending", PROVISIONAL_DUE) in before  # red: 约谈 at the due time

    # the operator loads the 2027 table (another process): the deadline moves, once
    output = load(db_url, clock, monkeypatch)
    assert "official now: 2027" in output and "1 provisional deadline(s) recomputed" in output
    c = case(dispute.db, no)
    assert c.due_at == OFFICIAL_DUE and not c.due_provisional
    assert c.due_rule is not None and not c.due_rule.startswith(PROVISIONAL_LABEL)
    record = c.fields["supervision"]["case"]
    assert "moved to the next working day 2027-01-05" in record["text"]  # after 1/1–1/4
    assert (record["provisional"], record["confidence"], record["gen"]) == (False, "high", 2)
    [recomputed] = details(dispute.db, no, "deadline_recomputed")
    assert datetime.fromisoformat(recomputed["due_before"]) == PROVISIONAL_DUE
    assert datetime.fromisoformat(recomputed["due_after"]) == OFFICIAL_DUE
    assert (recomputed["provisional_before"], recomputed["provisional_after"]) == (True, False)
    after = case_rungs(dispute, no)
    assert ("interview@1", "cancelled", PROVISIONAL_DUE) in after
    assert ("interview@2", "pending", OFFICIAL_DUE) in after  # the due item moved

    # loading the same file again changes nothing
    output = load(db_url, clock, monkeypatch)
    assert "official now: none; already loaded unchanged: 2027" in output
    assert "0 provisional deadline(s) recomputed" in output
    assert len(details(dispute.db, no, "deadline_recomputed")) == 1
    assert case_rungs(dispute, no) == after

    # this engine (another node) picks the table up from the database when it next looks (the
    # refresher's interval is taken away here instead of waiting for it) and goes on counting
    # with it: the case's tasks show the official, not provisional, due time
    supervision = next(x for x in dispute.listeners if isinstance(x, Supervision))
    supervision.refresher.every_seconds = 0
    driver.run_all(no, [sc.sign()])
    assert supervision.calendar.covers(2027)
    assert case(dispute.db, no).status == "SIGNED"
    [handling] = driver.open_tasks(no)
    assert handling.due_at is not None and not handling.due_provisional
