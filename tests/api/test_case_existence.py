"""No answer tells a caller whether a case they cannot see exists: reporting with a chosen case
number, reading, messaging, auditing — the answer for another area's case is the answer for
a number nobody holds (or one that does not depend on existence at all)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World, case_body
from tests.api.test_messages_users_ops import _deploy_feedback


def _same(a: Any, b: Any, *, theirs: str, nobody: str) -> None:
    """Two answers identical but for the number each names."""
    assert a.status_code == b.status_code, (a.text, b.text)
    assert a.json() | {"instance": None} == {
        k: (v.replace(nobody, theirs) if isinstance(v, str) else v)
        for k, v in (b.json() | {"instance": None}).items()
    }, (a.text, b.text)


def test_reporting_with_a_chosen_number_does_not_reveal_other_areas_cases(world: World) -> None:
    theirs = world.report("grid_b", grid_code="grid_b1", case_no="EXT-12345-0001",
                          data={"rounds": 0, "handler_org": "town_b"})  # fmt: skip
    sequential = world.report("grid_b", grid_code="grid_b1",
                              data={"rounds": 0, "handler_org": "town_b"})  # fmt: skip
    mine = world.report(case_no="EXT-MINE-1")
    # the engine's own numbers cannot be chosen, whether taken (by anyone) or free
    for number in (sequential, "BH-2026-999999", "bh-2026-000001", "BH-2027-1", " BH-2026-2"):
        r = world.post("grid_a", "/api/v1/cases", json=case_body(case_no=number.strip()))
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "case_no" and "given by the engine" in r.json()["detail"]
    # a taken external number: one answer, whether the case is the caller's or another area's
    r_theirs = world.post("grid_a", "/api/v1/cases", json=case_body(case_no=theirs))
    r_mine = world.post("grid_a", "/api/v1/cases", json=case_body(case_no=mine))
    assert r_theirs.status_code == r_mine.status_code == 409
    _same(r_theirs, r_mine, theirs=theirs, nobody=mine)
    assert "already exists" not in r_theirs.text and "not available" in r_theirs.text
    # nothing of the other case shows: its title, area, process
    assert "grid_b" not in r_theirs.text and "town_b" not in r_theirs.text
    # a free external number is taken as asked
    assert world.report(case_no="EXT-FREE-1") == "EXT-FREE-1"


def test_reads_messages_and_audit_answer_alike_for_hidden_and_missing_cases(
    world: World,
) -> None:
    _deploy_feedback(world)
    theirs = world.report("grid_b", process_id="feedback", grid_code="grid_b1",
                          data={"rounds": 0, "handler_org": "town_b"})  # fmt: skip
    nobody = "BH-2026-424242"
    gets = ["/api/v1/cases/{}", "/api/v1/cases/{}/history", "/api/v1/cases/{}/timeline",
            "/api/v1/audit/verify?case_no={}", "/api/v1/audit/events?case_no={}"]  # fmt: skip
    for user in ("grid_a", "town_a_staff", "auditor_a", "handler_a"):
        for url in gets:
            a = world.get(user, url.format(theirs))
            b = world.get(user, url.format(nobody))
            if a.status_code == 403 and b.status_code == 403:
                continue  # the caller may not use the route at all: nothing learned either way
            _same(a, b, theirs=theirs, nobody=nobody)
            assert a.status_code == 404, (user, url, a.text)
        for action in ("suspend", "cancel"):
            a = world.post(user, f"/api/v1/cases/{theirs}/{action}", json={"reason": "x"})
            b = world.post(user, f"/api/v1/cases/{nobody}/{action}", json={"reason": "x"})
            _same(a, b, theirs=theirs, nobody=nobody)
        for name in ("citizen_feedback", "tier_timeout", "unknown"):
            body = {"name": name, "payload": {}}
            a = world.post(user, "/api/v1/messages", json={**body, "correlation_key": theirs})
            b = world.post(user, "/api/v1/messages", json={**body, "correlation_key": nobody})
            _same(a, b, theirs=theirs, nobody=nobody)
    r = world.get("grid_a", "/api/v1/tasks", params={"scope": "jurisdiction", "case_no": theirs})
    assert r.status_code == 200 and r.json()["items"] == []
    r = world.get("grid_a", "/api/v1/cases", params={"text": theirs})
    assert r.status_code == 200 and r.json()["items"] == []
