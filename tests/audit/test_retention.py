"""Retention: a closed case's detail is replaced by a signed summary; the chain still verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.audit.anchor import create_anchor
from engine.audit.retention import AuditChainBroken, purge_expired
from engine.audit.timeline import case_timeline
from engine.audit.verification import verify
from engine.clock import ManualClock
from engine.kpi.facts import fold_case
from engine.runtime import Engine
from engine.storage.database import Database
from engine.storage.models import AuditEvent, Case, Instance, TaskComment
from engine.vocabulary import SUMMARY_EVENT
from tests.audit.chains import as_attacker
from tests.engine.support import ALICE, BOB, DESIGNER, bundle, do, only_task

KEY = "k" * 40
TTL = timedelta(days=365)


def closed_case(db: Database, clock: ManualClock, case_no: str) -> None:
    engine = Engine(db, clock=clock)
    engine.deploy(bundle("loop.bpmn"), DESIGNER)
    engine.start("loop", case_no, {"rounds": 0}, ALICE)
    task = only_task(db, case_no, "handle")
    engine.claim(task.id, ALICE)
    engine.comment(task.id, "当事人姓名电话等细节", ALICE)
    engine.complete(task.id, {"result": "处置完毕"}, ALICE)
    do(engine, only_task(db, case_no, "check"), {"ok": True}, BOB)


def events(db: Database, case_no: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.case_no == case_no).order_by(AuditEvent.seq)
            )
        )


def test_purge_keeps_the_chain_verifiable(db: Database, clock: ManualClock) -> None:
    closed_case(db, clock, "R-1")
    before = events(db, "R-1")
    facts_before = fold_case("R-1", before)
    with db.session() as s:
        create_anchor(s, KEY, clock.now())
    clock.advance(TTL - timedelta(days=1))
    with db.session() as s:
        assert purge_expired(s, KEY, clock.now(), TTL) == []  # not yet
    clock.advance(timedelta(days=2))
    with db.session() as s:
        (result,) = purge_expired(s, KEY, clock.now(), TTL)
    assert (result.purged_events, result.summary_seq) == (len(before), before[-1].seq)

    after = events(db, "R-1")
    assert [e.event_type for e in after] == [SUMMARY_EVENT, "audit_purged"]
    summary = after[0]
    assert summary.details["head_hash"] == before[-1].hash
    assert summary.details["event_types"]["task_completed"] == 2
    assert summary.details["case"]["status"] == "CLOSED"
    with db.session() as s:
        report = verify(s, KEY)  # the old anchor's head lies inside the signed span
        assert report.ok, report.problems
        assert s.scalar(select(TaskComment.id)) is None
        # the detailed data is gone with the events: workflow state and data, personal fields
        inst = s.scalars(select(Instance).where(Instance.business_key == "R-1")).one()
        assert (inst.state, inst.data, inst.status) == ({}, {}, "completed")
        kept = s.get(Case, "R-1")
        assert kept is not None and kept.fields == {} and kept.status == "CLOSED"
        assert case_timeline(s, "R-1").purged
        # nothing left to purge: a second run does nothing
        assert purge_expired(s, KEY, clock.now(), TTL) == []
    # the KPI facts survive the purge
    assert fold_case("R-1", after).to_dict() == facts_before.to_dict()


def test_a_forged_summary_is_caught(db: Database, clock: ManualClock) -> None:
    closed_case(db, clock, "R-2")
    clock.advance(TTL + timedelta(days=1))
    with db.session() as s:
        purge_expired(s, KEY, clock.now(), TTL)
        assert verify(s, "another-key-" * 4).first is not None  # signed with our key only
    with as_attacker(db) as conn:
        row = conn.execute(
            select(AuditEvent.id, AuditEvent.details).where(AuditEvent.event_type == SUMMARY_EVENT)
        ).one()
        details = {**row.details, "count": 1}
        conn.execute(update(AuditEvent).where(AuditEvent.id == row.id).values(details=details))
    with db.session() as s:
        first = verify(s, KEY).first
    assert first is not None and first.kind == "content_mismatch"


def test_a_broken_chain_is_not_purged(db: Database, clock: ManualClock) -> None:
    closed_case(db, clock, "R-3")
    with as_attacker(db) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor_user="x"))
    clock.advance(TTL + timedelta(days=1))
    with pytest.raises(AuditChainBroken), db.session() as s:
        purge_expired(s, KEY, clock.now(), TTL)
    assert len(events(db, "R-3")) > 2
