"""Values no database stores exactly: refused with 422 naming the field path on every route that
takes a body, or stored in the one form both databases give back — never a 500, never a
corrupted audit chain (``/audit/verify`` stays ok after each)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.audit.log import Actor
from engine.storage.models import AuditEvent, Case
from tests.api.conftest import World, case_body
from tests.api.test_messages_users_ops import _deploy_feedback

#: (JSON text of a value, what the refusal says)
BAD_VALUES = [
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
    ("1e400", "too large"),
    ("-1e400", "too large"),
    ("18446744073709551616", "64-bit"),  # 2**64
    ("-9223372036854775809", "64-bit"),  # one below the 64-bit minimum
    ("1e20", "64-bit"),  # a float beyond the integer range
    ("9" * 5000, "64-bit"),  # beyond Python's own digit limit for int()
    ('"\\ud800"', "surrogate"),
    ('"a\\udfffb"', "surrogate"),
    ('"a\\u0000b"', "NUL"),
    ('[1, [2, {"k": NaN}]]', "NaN"),
]


def _counts(world: World) -> tuple[int, int]:
    with world.db.session() as s:
        return s.query(Case).count(), s.query(AuditEvent).count()


def _verified(world: World) -> None:
    r = world.get("auditor_county", "/api/v1/audit/verify")
    assert r.status_code == 200 and r.json() == {"ok": True, "problems": []}, r.text


def _raw(world: World, user: str, url: str, body: str) -> Any:
    headers = {**world.h(user), "Content-Type": "application/json"}
    return world.client.post(url, content=body.encode("utf-8"), headers=headers)


def _refused(r: Any, path: str, words: str) -> None:
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "invalid_request"
    assert len(problem["errors"]) == 1 and problem["errors"][0]["path"].startswith(path), problem
    assert words in problem["detail"] and words in problem["errors"][0]["message"], problem


@pytest.mark.parametrize(("value", "words"), BAD_VALUES)
def test_report_refuses_values_in_data_and_fields(world: World, value: str, words: str) -> None:
    before = _counts(world)
    template = '{"process_id": "loop", "title": "t", "grid_code": "grid_a1", FIELDS}'
    where = {
        '"data": {"rounds": 0, "x": @}': "/body/data/x",
        '"data": {"rounds": 0}, "parties": [{"name": "甲"}, {"name": @}]': "/body/parties/1/name",
        '"data": {"rounds": 0, "nested": {"list": [0, @]}}': "/body/data/nested/list/1",
    }
    for fragment, path in where.items():
        body = template.replace("FIELDS", fragment).replace("@", value)
        _refused(_raw(world, "grid_a", "/api/v1/cases", body), path, words)
    assert _counts(world) == before
    _verified(world)


@pytest.mark.parametrize("key", ['"\\ud800"', '"x\\udc00"', '"a\\u0000"'])
def test_keys_are_checked_and_echoed_safely(world: World, key: str) -> None:
    """A refused key is named in the answer as an escape: the answer itself always encodes."""
    for template in (
        '{"process_id": "loop", "title": "t", "data": {"rounds": 0, @: 1}}',
        '{"process_id": "loop", "title": "t", "data": {"rounds": 0}, @: 1}',
        '{"process_id": "loop", "title": "t", "data": {"rounds": 0}, "parties": [{@: 1}]}',
    ):
        body = template.replace("@", key)
        r = _raw(world, "grid_a", "/api/v1/cases", body)
        assert r.status_code == 422, r.text
        path = r.json()["errors"][0]["path"]
        assert path.startswith("/body/") and "\\u" in path, path
    assert _counts(world) == (0, 0)


@pytest.mark.parametrize(("value", "words"), BAD_VALUES[:4] + BAD_VALUES[5:6] + BAD_VALUES[9:10])
def test_every_body_route_refuses_the_values(world: World, value: str, words: str) -> None:
    _deploy_feedback(world)
    case_no = world.report()
    feedback = world.report(process_id="feedback")
    task = world.open_task(case_no)
    assert world.post("handler_a", f"/api/v1/tasks/{task}/claim").status_code == 200
    before = _counts(world)
    message = '{"name": "citizen_feedback", "correlation_key": "KEY", "payload": {"p": @}}'
    routes = [
        ("handler_a", f"/api/v1/tasks/{task}/complete", '{"data": {"result": @}}', "/data/result"),
        ("handler_a", f"/api/v1/tasks/{task}/comments", '{"text": @}', "/text"),
        ("town_a_staff", f"/api/v1/tasks/{task}/assign",
         '{"assignee": "handler_a2", "reason": @}', "/reason"),
        ("town_a_staff", "/api/v1/messages", message.replace("KEY", feedback), "/payload/p"),
        ("town_a_staff", "/api/v1/messages",
         '{"name": @, "correlation_key": "x", "payload": {}}', "/name"),
        ("town_a_staff", f"/api/v1/cases/{case_no}/suspend", '{"reason": @}', "/reason"),
        ("admin", "/api/v1/users",
         '{"id": "u1", "display_name": @, "password": "long enough", "roles": []}',
         "/display_name"),
    ]  # fmt: skip
    for user, url, template, path in routes:
        _refused(_raw(world, user, url, template.replace("@", value)), "/body" + path, words)
    assert _counts(world) == before
    detail = world.get("handler_a", f"/api/v1/tasks/{task}").json()
    assert detail["task"]["state"] == "claimed" and detail["comments"] == []
    _verified(world)


def test_numbers_are_stored_as_both_databases_give_them_back(world: World) -> None:
    """-0.0 and whole floats written with an exponent come back from PostgreSQL's jsonb as 0.0
    and integers: they are stored in that form, so the audit hash holds on both databases."""
    data = {"rounds": 0, "neg_zero": -0.0, "big": 1.2345678901234567e17, "e16": 1e16,
            "tiny": 1.5e-7, "max": 9223372036854775807, "min": -9223372036854775808,
            "frac": 0.1 + 0.2, "deep": {"l": [-0.0, 2e18]}}  # fmt: skip
    case_no = world.report(data=data)
    task = world.open_task(case_no)
    assert world.post("handler_a", f"/api/v1/tasks/{task}/claim").status_code == 200
    r = world.post("handler_a", f"/api/v1/tasks/{task}/complete",
                   json={"data": {"result": "ok", "round": 1e17}})  # fmt: skip
    assert r.status_code == 200, r.text
    r = world.post("handler_a", f"/api/v1/tasks/{task}/comments", json={"text": "-0.0"})
    assert r.status_code == 201, r.text
    with world.db.session() as s:
        stored = s.get(Case, case_no)
        assert stored is not None
    detail = world.get("county_staff", f"/api/v1/cases/{case_no}").json()
    assert detail["case"]["case_no"] == case_no
    _verified(world)
    # the engine's own callers get the same treatment
    engine_case = world.engine.start("loop", "E-1", data, Actor("grid_a", "grid_worker", "grid_a1"))
    assert engine_case.business_key == "E-1"
    _verified(world)


def test_engine_refuses_the_values_from_any_caller(world: World) -> None:
    """Not only the HTTP edge: the engine's commands check the data they are handed."""
    actor = Actor("grid_a", "grid_worker", "grid_a1")
    from engine.errors import InputInvalid

    for bad in (float("nan"), float("inf"), 2**64, "\ud800", {"k\ud800": 1}, [object()]):
        with pytest.raises(InputInvalid) as refused:
            world.engine.start("loop", "E-2", {"rounds": 0, "x": bad}, actor)
        assert refused.value.details["field"].startswith("data/x")
    assert _counts(world) == (0, 0)


@pytest.mark.parametrize(
    "key",
    [
        b"\x01\x02",
        b"\xff\xfe latin-1",
        b"a" * 201,
        b"",
        b"\x7f",
        b"key with spaces",
        b"\xe4\xb8\xad",
        b"a\x00b",
        b"\x00",
    ],
)
def test_odd_idempotency_keys_never_give_500(world: World, key: bytes) -> None:
    headers = {**world.h("grid_a"), "Idempotency-Key": key}  # type: ignore[dict-item]
    first = world.client.post("/api/v1/cases", json=case_body(), headers=headers)
    assert first.status_code in (201, 422), first.text
    again = world.client.post("/api/v1/cases", json=case_body(), headers=headers)
    assert again.status_code == first.status_code, again.text
    if first.status_code == 201:  # the retry is the stored answer, not a second case
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json()["case"]["case_no"] == first.json()["case"]["case_no"]
    _verified(world)


@pytest.mark.parametrize(
    "query",
    [
        "limit=99999999999999999999999",
        "offset=18446744073709551616",
        "limit=1e400",
        "limit=NaN",
        "text=%ED%A0%80",
        "text=%FF%FE",
        "status=%C0%AF",
        "org=%ED%B0%80",
        "reported_from=99999-01-01",
        "reported_from=2026-13-45",
    ],
)
def test_odd_query_parameters_never_give_500(world: World, query: str) -> None:
    world.report()
    for url in ("/api/v1/cases", "/api/v1/tasks", "/api/v1/audit/events", "/api/v1/orgs"):
        r = world.get("county_staff", f"{url}?{query}")
        assert r.status_code < 500, (url, r.text)
    for path in ("/api/v1/cases/%ED%A0%80", "/api/v1/tasks/99999999999999999999999999",
                 "/api/v1/cases/%FF/history"):  # fmt: skip
        assert world.get("county_staff", path).status_code in (404, 422)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Authorization", b"Bearer \xff\xfe"),
        ("Authorization", b"Bearer " + b"a." * 300),
        ("Authorization", b"\x01\x02"),
        ("Content-Type", b"application/json; charset=\xff"),
        ("Content-Type", b"application/json\x01"),
        ("Content-Type", b"application/vnd.x+json"),
        ("Content-Type", b";;;"),
        ("Last-Event-ID", b"99999999999999999999999999"),
        ("Last-Event-ID", b"-1"),
        ("Last-Event-ID", b"NaN"),
    ],
)
def test_odd_headers_never_give_500(world: World, name: str, value: bytes) -> None:
    headers: dict[str, Any] = {**world.h("grid_a"), name: value}
    body = b'{"process_id": "loop", "title": "t", "data": {"rounds": NaN}}'
    r = world.client.post("/api/v1/cases", content=body, headers=headers)
    assert r.status_code in (401, 415, 422), r.text
    if name == "Last-Event-ID":
        r = world.client.get("/api/v1/events", headers=headers)
        assert r.status_code == 422, r.text
    assert _counts(world) == (0, 0)


def test_a_problem_echoing_a_surrogate_still_encodes() -> None:
    """The error handler echoes fields and keys: an unencodable one is shown escaped."""
    from api.errors import problem

    answer = problem(422, "invalid_request", "bad \ud800",
                     extra={"errors": [{"path": "/body/\udc00\x00", "message": "m"}],
                            "\ud801": "v"})  # fmt: skip
    body = json.loads(bytes(answer.body))
    assert body["detail"] == "bad \\ud800"
    assert body["errors"] == [{"path": "/body/\\udc00\\u0000", "message": "m"}]
    assert body["\\ud801"] == "v"


def test_a_script_overflowing_64_bits_fails_the_completion_and_commits_nothing(
    world: World,
) -> None:
    """``rounds = rounds + 1`` on the largest 64-bit integer: 422 naming the script element and
    the variable; the task stays claimed, the case unchanged, the chain intact."""
    case_no = world.report(data={"rounds": 2**63 - 1, "handler_org": "town_a"})
    handle = world.open_task(case_no)
    assert world.post("handler_a", f"/api/v1/tasks/{handle}/claim").status_code == 200
    r = world.post("handler_a", f"/api/v1/tasks/{handle}/complete", json={"data": {"result": "x"}})
    assert r.status_code == 200, r.text
    check = world.open_task(case_no, "check")
    assert world.post("town_a_staff", f"/api/v1/tasks/{check}/claim").status_code == 200
    before = _counts(world)
    url = f"/api/v1/tasks/{check}/complete"
    r = world.post("town_a_staff", url, json={"data": {"ok": True}})
    assert r.status_code == 422 and r.json()["code"] == "script_error", r.text
    assert "count" in r.json()["detail"] and "'rounds'" in r.json()["detail"], r.text
    assert "64-bit" in r.json()["detail"]
    assert _counts(world) == before
    assert world.get("town_a_staff", f"/api/v1/tasks/{check}").json()["task"]["state"] == "claimed"
    _verified(world)


def test_deep_nesting_is_refused_with_422(world: World) -> None:
    for depth in (65, 5_000, 100_000):
        data = "[" * depth + "]" * depth
        body = '{"process_id": "loop", "title": "t", "data": {"rounds": 0, "x": ' + data + "}}"
        r = _raw(world, "grid_a", "/api/v1/cases", body)
        assert r.status_code == 422 and "nested deeper than 64" in r.json()["detail"], r.text
    nested = '{"a": ' * 60 + "1" + "}" * 60  # 62 levels with the body's own: accepted
    body = '{"process_id": "loop", "title": "t", "data": {"rounds": 0, "x": ' + nested + "}}"
    assert _raw(world, "grid_a", "/api/v1/cases", body).status_code == 201
    _verified(world)
