"""Tampering with the audit record is caught, and named: which case, which event, what kind.

Each test writes valid chains for three cases, signs an anchor, then tampers with the rows
directly in SQL the way a database superuser could (bypassing the append-only triggers) and
checks that ``verify`` reports the first broken event with the right kind. The chains are written
in both row formats: links stored (``prev_hash``, before migration 0005) and links implied (the
engine's format since). Both catch every tampering at the same event; with implied links, what
moves events (renumbering) is named a content mismatch, since ``seq`` is part of the content.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, Connection, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from engine.audit.anchor import create_anchor
from engine.audit.verification import verify
from engine.storage.database import Database
from engine.storage.models import AuditAnchor, AuditEvent
from tests.audit.chains import as_attacker, bulk_insert, chain_rows

KEY = "k" * 40
T0 = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
CASES = ("C-1", "C-2", "C-3")


@pytest.fixture(params=["stored", "implied"])
def links(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sealed(db: Database, links: str) -> Database:
    """Three cases of eight events each, anchored."""
    for n, case_no in enumerate(CASES):
        bulk_insert(db, chain_rows(case_no, 8, T0 + timedelta(hours=n), implied=links == "implied"))
    with db.session() as s:
        create_anchor(s, KEY, T0 + timedelta(days=1))
    return db


def check(db: Database, case_no: str | None = None) -> list[tuple[str, str | None, int | None]]:
    with db.session() as s:
        report = verify(s, KEY, case_no=case_no)
    return [(p.kind, p.case_no, p.seq) for p in report.problems]


def row(conn: Connection, case_no: str, seq: int) -> dict[str, object]:
    found = conn.execute(
        select(AuditEvent.__table__).where(AuditEvent.case_no == case_no, AuditEvent.seq == seq)
    ).one()
    return dict(found._mapping)


def where(case_no: str, seq: int) -> ColumnElement[bool]:
    return (AuditEvent.case_no == case_no) & (AuditEvent.seq == seq)


def test_an_untouched_record_verifies(sealed: Database) -> None:
    with sealed.session() as s:
        report = verify(s, KEY)
    assert report.ok, report.problems
    assert (report.cases, report.events, report.anchors) == (3, 24, 1)


def test_new_events_after_the_anchor_are_fine(sealed: Database, links: str) -> None:
    with sealed.session() as s:
        last = s.scalars(select(AuditEvent).where(where("C-1", 8))).one()
        tail = chain_rows(
            "C-1", 2, T0 + timedelta(days=2), first_seq=9, prev=last.hash,
            implied=links == "implied",
        )  # fmt: skip
    bulk_insert(sealed, tail)
    assert check(sealed) == []


def _edit(conn: Connection) -> None:
    conn.execute(update(AuditEvent).where(where("C-2", 3)).values(reason="改过的理由"))


def _edit_and_rehash(conn: Connection) -> None:
    # An attacker who knows the scheme recomputes the edited row's own hash: the next link breaks.
    from engine.audit.log import event_hash

    original = row(conn, "C-2", 3)
    forged = AuditEvent(**{**original, "actor_user": "mallory"})
    link = row(conn, "C-2", 2)["hash"]  # used when the row stores no link
    conn.execute(
        update(AuditEvent)
        .where(where("C-2", 3))
        .values(actor_user="mallory", hash=event_hash(forged, str(link)))
    )


def _delete(conn: Connection) -> None:
    conn.execute(delete(AuditEvent).where(where("C-2", 3)))


def _delete_and_renumber(conn: Connection) -> None:
    conn.execute(delete(AuditEvent).where(where("C-2", 3)))
    for seq in range(4, 9):
        conn.execute(update(AuditEvent).where(where("C-2", seq)).values(seq=seq - 1))


def _insert_forged(conn: Connection) -> None:
    from engine.audit.log import event_hash

    for seq in range(8, 3, -1):  # make room at seq 4
        conn.execute(update(AuditEvent).where(where("C-2", seq)).values(seq=seq + 1))
    prev = row(conn, "C-2", 3)
    values = {k: v for k, v in prev.items() if k != "id"}
    values.update(seq=4, reason="伪造的事件", prev_hash=prev["hash"], actor_user="mallory")
    forged = AuditEvent(**values)
    values["hash"] = event_hash(forged)  # a forger may store the link or not: the same hash
    conn.execute(insert(AuditEvent).values(**values))


def _swap(conn: Connection) -> None:
    conn.execute(update(AuditEvent).where(where("C-2", 3)).values(seq=-1))
    conn.execute(update(AuditEvent).where(where("C-2", 4)).values(seq=3))
    conn.execute(update(AuditEvent).where(where("C-2", -1)).values(seq=4))


def _truncate_tail(conn: Connection) -> None:
    conn.execute(delete(AuditEvent).where(AuditEvent.case_no == "C-2", AuditEvent.seq >= 7))


def _delete_case(conn: Connection) -> None:
    conn.execute(delete(AuditEvent).where(AuditEvent.case_no == "C-2"))


LINK = "prev_hash_mismatch"  # with implied links: content_mismatch (see the module docstring)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        pytest.param(_edit, ("content_mismatch", "C-2", 3), id="edit"),
        pytest.param(_edit_and_rehash, (LINK, "C-2", 4), id="edit-rehash"),
        pytest.param(_delete, ("seq_gap", "C-2", 4), id="delete"),
        pytest.param(_delete_and_renumber, (LINK, "C-2", 3), id="delete-renumber"),
        pytest.param(_insert_forged, (LINK, "C-2", 5), id="insert"),
        pytest.param(_swap, (LINK, "C-2", 3), id="swap"),
        pytest.param(_truncate_tail, ("head_mismatch", "C-2", 8), id="truncate-tail"),
        pytest.param(_delete_case, ("chain_missing", "C-2", None), id="delete-case"),
    ],
)
def test_tampering_is_caught_at_the_first_broken_event(
    sealed: Database,
    links: str,
    tamper: Callable[[Connection], None],
    expected: tuple[str, str, int | None],
) -> None:
    with as_attacker(sealed) as conn:
        tamper(conn)
    if links == "implied" and expected[0] == LINK:
        expected = ("content_mismatch", *expected[1:])
    assert check(sealed) == [expected]
    assert check(sealed, "C-2") == [expected]
    assert check(sealed, "C-1") == []


@pytest.mark.parametrize("links", ["stored"])  # an implied link names no event to point at
def test_a_swap_is_named_a_reordering(sealed: Database) -> None:
    with as_attacker(sealed) as conn:
        _swap(conn)
    with sealed.session() as s:
        first = verify(s, KEY).first
    assert first is not None and "reordered" in first.message and "调换" in first.message


def test_a_forged_anchor_is_caught(sealed: Database) -> None:
    with as_attacker(sealed) as conn:
        anchor = conn.execute(select(AuditAnchor.id, AuditAnchor.heads)).one()
        heads = dict(anchor.heads)
        heads["cases"] = {**heads["cases"], "C-2": [6, heads["cases"]["C-2"][1]]}
        conn.execute(update(AuditAnchor).where(AuditAnchor.id == anchor.id).values(heads=heads))
    assert check(sealed) == [("anchor_invalid", None, None)]


def test_a_deleted_anchor_is_caught(sealed: Database) -> None:
    with sealed.session() as s:
        create_anchor(s, KEY, T0 + timedelta(days=2))
        create_anchor(s, KEY, T0 + timedelta(days=3))
    with as_attacker(sealed) as conn:
        conn.execute(delete(AuditAnchor).where(AuditAnchor.id == 2))
    assert check(sealed) == [("anchor_chain", None, None)]


def test_an_anchor_signed_with_another_key_is_refused(sealed: Database) -> None:
    with sealed.session() as s:
        report = verify(s, "another-key-" * 4)
    assert [p.kind for p in report.problems] == ["anchor_invalid"]


# ------------------------------------------------------------------ the append-only triggers


def test_the_application_cannot_update_or_delete_audit_rows(sealed: Database) -> None:
    for statement in (
        update(AuditEvent).where(where("C-1", 1)).values(reason="x"),
        delete(AuditEvent).where(where("C-1", 1)),
        delete(AuditAnchor),
    ):
        with pytest.raises(DBAPIError), sealed.session() as s:
            s.execute(statement)
    assert check(sealed) == []
    bulk_insert(sealed, chain_rows("C-9", 1, T0))  # appending is allowed


@pytest.mark.postgres
def test_truncate_is_not_a_row_operation(db_url: str, sealed: Database) -> None:
    if sealed.dialect != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    with sealed.engine.begin() as conn:  # what tests/conftest.py does between tests
        conn.execute(text("TRUNCATE audit_events, audit_anchors"))
    with sealed.session() as s:
        assert s.scalar(select(AuditEvent.id).limit(1)) is None
