"""Audit row formats: chains written before migration 0005 keep verifying, on their own, after the
upgrade converts them, and once the engine extends them in the format it writes now.

Before 0005 a row stored its link (``prev_hash``) and both digests as 64 hex characters; since,
digests are 32 bytes and a link equal to the previous event's hash is implied (NULL). The hash
input did not change, so old and new rows verify with the same function.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, String, column, create_engine, select, table, text, update
from sqlalchemy.exc import DBAPIError

from engine.audit.log import GENESIS, SYSTEM, Actor, AuditLog
from engine.audit.query import AuditQuery, search
from engine.audit.verification import verify
from engine.storage.database import Database
from engine.storage.migrate import upgrade
from engine.storage.models import AuditEvent, JsonType, UTCDateTime
from tests.audit.chains import as_attacker, bulk_insert, chain_rows
from tests.conftest import postgres_base_url

KEY = "k" * 40
T0 = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
ALICE = Actor("alice", "handler", "village")


def stored(db: Database, case_no: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.case_no == case_no).order_by(AuditEvent.seq)
            )
        )


def problems(db: Database) -> list[tuple[str, str | None, int | None]]:
    with db.session() as s:
        return [(p.kind, p.case_no, p.seq) for p in verify(s, KEY).problems]


def extend(db: Database, case_no: str, at: datetime) -> None:
    """The engine's audit log appends two events to the case in today's format."""
    with db.session() as s:
        log = AuditLog(s, case_no, "instance-1", at, org_path="/county/town/village/")
        log.add("task_claimed", ALICE, task_id="t-1", element_id="handle", element_name="处置")
        log.add("task_completed", ALICE, task_id="t-1", data_before={"result": None},
                data_after={"result": "办结"}, late=False, due_at=None)  # fmt: skip
        log.engine_ran(["gw", "end"])
        log.flush()


def test_an_old_chain_extended_in_the_new_format_verifies(db: Database) -> None:
    bulk_insert(db, chain_rows("C-1", 5, T0))  # links stored, as before 0005
    extend(db, "C-1", T0 + timedelta(days=1))
    rows = stored(db, "C-1")
    assert [e.prev_hash is None for e in rows] == [False] * 5 + [True] * 2
    claimed, completed = rows[5:]
    assert claimed.instance_id is None  # recorded on instance_started only
    # empty values are left out; what the engine ran is listed in the command's last event
    assert completed.data_before == {} and completed.data_after == {"result": "办结"}
    assert completed.details == {"late": False, "ran": ["gw", "end"]}
    assert len(completed.hash) == 64 and completed.hash == completed.hash.lower()
    assert problems(db) == []
    # search and export fill in the implied link
    with db.session() as s:
        page = search(s, AuditQuery(case_no="C-1"))
    links = [r.prev_hash for r in page.records]
    assert links == [GENESIS] + [r.hash for r in page.records[:-1]]


@pytest.mark.parametrize(("seq", "kind"), [(3, "content_mismatch"), (7, "content_mismatch")])
def test_tampering_on_either_side_of_the_format_boundary(db: Database, seq: int, kind: str) -> None:
    bulk_insert(db, chain_rows("C-1", 5, T0))
    extend(db, "C-1", T0 + timedelta(days=1))
    with as_attacker(db) as conn:
        conn.execute(
            update(AuditEvent)
            .where(AuditEvent.case_no == "C-1", AuditEvent.seq == seq)
            .values(actor_user="mallory")
        )
    assert problems(db) == [(kind, "C-1", seq)]


def test_the_first_new_event_is_chained_to_the_old_head(db: Database) -> None:
    bulk_insert(db, chain_rows("C-1", 5, T0))
    extend(db, "C-1", T0 + timedelta(days=1))
    with as_attacker(db) as conn:  # the old head is dropped: the first new event breaks
        conn.execute(
            text("DELETE FROM audit_events WHERE case_no = 'C-1' AND seq = 5"),
        )
        conn.execute(
            text("UPDATE audit_events SET seq = seq - 1 WHERE case_no = 'C-1' AND seq > 5")
        )
    assert problems(db) == [("content_mismatch", "C-1", 5)]


def test_the_engine_writes_no_engine_transitions_row_when_a_command_event_is_there(
    db: Database,
) -> None:
    with db.session() as s:
        log = AuditLog(s, "C-2", "instance-2", T0, org_path="/county/")
        log.engine_ran(["start"])  # nothing pending: an event of its own
        log.add("instance_resumed", SYSTEM)
        log.engine_ran(["gw"])
        log.flush()
    rows = stored(db, "C-2")
    assert [(e.event_type, e.details) for e in rows] == [
        ("engine_transitions", {"ran": ["start"]}),
        ("instance_resumed", {"ran": ["gw"]}),
    ]
    assert problems(db) == []


# ------------------------------------------------------------------ migration 0005


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0004(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Database]:
    """A fresh database migrated to 0004 (before the storage compaction)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/old.db")
        upgrade(db, "0004")
        yield db
        db.dispose()
        return
    base = postgres_base_url()
    if base is None:
        pytest.skip("PostgreSQL tests need BIHUAN_TEST_POSTGRES_URL")
    schema = f"bihuan_0004_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    db = Database(f"{base}{sep}options=-csearch_path%3D{schema}")
    upgrade(db, "0004")
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


OLD_EVENTS = table(
    "audit_events",
    *(column(name, String()) for name in ("case_no", "instance_id", "event_type", "actor_user")),
    *(column(name, String()) for name in ("actor_role", "actor_org", "org_path", "task_id")),
    *(column(name, String()) for name in ("element_id", "element_name", "reason")),
    *(column(name, String()) for name in ("prev_hash", "hash")),  # hex text, as before 0005
    *(column(name, JsonType) for name in ("data_before", "data_after", "details")),
    column("seq"),
    column("at", UTCDateTime()),
)


def insert_old(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(OLD_EVENTS.insert(), rows)


def test_migration_0005_converts_old_chains(at_0004: Database) -> None:
    db = at_0004
    good = chain_rows("C-1", 4, T0)
    bad = chain_rows("C-2", 4, T0)
    bad[2]["prev_hash"] = "ab" * 32  # evidence of tampering: this link must survive
    with db.engine.begin() as conn:
        insert_old(conn, good + bad)
    upgrade(db)

    rows = stored(db, "C-1") + stored(db, "C-2")
    assert [e.hash for e in rows] == [r["hash"] for r in good + bad]  # same digests, as hex
    assert [e.prev_hash for e in rows] == [None] * 6 + ["ab" * 32, None]
    assert problems(db) == [("prev_hash_mismatch", "C-2", 3)]
    with db.engine.connect() as conn:
        size = "octet_length" if db.dialect == "postgresql" else "length"
        assert conn.scalar(text(f"SELECT max({size}(hash)) FROM audit_events")) == 32
        assert conn.scalar(text(f"SELECT min({size}(hash)) FROM audit_events")) == 32
    # the append-only triggers of 0002 still refuse changes (SQLite rebuilt the table)
    for statement in ("UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError), db.session() as s:
            s.execute(text(statement))
    # and the engine extends a converted chain
    extend(db, "C-1", T0 + timedelta(days=1))
    assert problems(db) == [("prev_hash_mismatch", "C-2", 3)]


def test_migration_0005_adds_the_overlay_column(at_0004: Database) -> None:
    upgrade(at_0004)
    with at_0004.engine.connect() as conn:
        assert conn.execute(text("SELECT element_states FROM instances")).all() == []
