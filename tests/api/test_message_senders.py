"""Who may send which message: engine-only messages (``tier_timeout``) are never deliverable
through the API, each other message only by the roles ``processes/messages.yaml`` lists, and a
message not listed by nobody (deny by default); the policy file is checked when it is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.access import MessageConfigError, load_message_policy
from engine.errors import PermissionDenied
from engine.settings import Settings
from tests.api.conftest import World
from tests.engine.support import events, open_tasks
from tests.scenarios.support import GRID_WORKER


def _waiting_for_tier_timeout(demo: World, case_no: str) -> None:
    driver = Driver(demo.engine)
    driver.start(case_no, sc.report(case_no), GRID_WORKER)
    driver.run_all(case_no, [sc.screen(), sc.dispatch("qs-dc-hp-01"), sc.sign()])


def _state(demo: World, case_no: str) -> tuple[object, ...]:
    detail = demo.get("county01", f"/api/v1/cases/{case_no}").json()
    tasks = sorted(t.element_id for t in open_tasks(demo.db, case_no))
    return detail["case"]["tier"], detail["case"]["status"], tuple(tasks)


def test_engine_messages_cannot_be_forged(demo: World) -> None:
    _waiting_for_tier_timeout(demo, "MD-FORGE-1")
    before = _state(demo, "MD-FORGE-1")
    history = len(events(demo.db, "MD-FORGE-1"))
    body = {"name": "tier_timeout", "correlation_key": "MD-FORGE-1",
            "payload": {"tier": "grid", "step": "dispute.tier_grid"}}  # fmt: skip
    for user in ("grid01", "village01", "town01", "county01", "super01", "grid02"):
        r = demo.post(user, "/api/v1/messages", json=body)
        assert r.status_code == 403, (user, r.text)
        assert r.json()["code"] == "forbidden"
        assert "sent only by the engine" in r.json()["detail"], r.text
    # the same answer for a case that does not exist: the refusal says nothing about cases
    r = demo.post("grid01", "/api/v1/messages", json={**body, "correlation_key": "NO-SUCH"})
    assert r.status_code == 403 and "sent only by the engine" in r.json()["detail"]
    assert _state(demo, "MD-FORGE-1") == before
    assert len(events(demo.db, "MD-FORGE-1")) == history
    # the engine itself refuses it from any actor but the system, whoever calls it
    with pytest.raises(PermissionDenied):
        demo.engine.deliver_message("tier_timeout", "MD-FORGE-1", {}, GRID_WORKER)
    assert _state(demo, "MD-FORGE-1") == before


def test_each_message_has_its_senders_and_others_are_denied(demo: World) -> None:
    _waiting_for_tier_timeout(demo, "MD-SEND-1")
    request = {"name": "extension_request", "correlation_key": "MD-SEND-1",
               "payload": {"requested_days": 3, "reason": "当事人外出"}}  # fmt: skip
    # not listed: refused whatever the case, before looking at it
    for name in ("unlisted_message", "Tier_Timeout", "extension_request ", "hang"):
        r = demo.post("grid01", "/api/v1/messages", json={**request, "name": name})
        assert r.status_code == 403 and "not one the API delivers" in r.json()["detail"], r.text
    # a role the file does not list for the message, over a case it can read
    r = demo.post("super01", "/api/v1/messages", json=request)
    assert r.status_code == 403 and "may not send" in r.json()["detail"], r.text
    assert demo.post("auditor", "/api/v1/messages", json=request).status_code == 403
    # a listed role outside the case's area: not found, as if it did not exist
    assert demo.post("grid03", "/api/v1/messages", json=request).status_code == 404
    assert "message_delivered" not in {e.event_type for e in events(demo.db, "MD-SEND-1")}
    r = demo.post("grid01", "/api/v1/messages", json=request)
    assert r.status_code == 200, r.text
    assert "approve_extension" in _state(demo, "MD-SEND-1")[2]


def test_only_a_centre_may_hand_a_matter_on(demo: World) -> None:
    """分流转办: the township and county centres send ``transfer_request``; the handling unit
    cannot hand its own matter on (it asks for a 退单), and a bad payload names its field."""
    _waiting_for_tier_timeout(demo, "MD-XFER-1")  # signed: first_contact open at the grid
    request = {"name": "transfer_request", "correlation_key": "MD-XFER-1",
               "payload": {"transfer_to": "qs-dc-pcs", "transfer_kind": "department",
                           "transfer_reason": "涉及治安，属派出所职责。"}}  # fmt: skip
    r = demo.post("grid01", "/api/v1/messages", json=request)
    assert r.status_code == 403 and "may not send" in r.json()["detail"], r.text
    bad = {**request, "payload": {**request["payload"], "transfer_kind": "channel"}}
    r = demo.post("town01", "/api/v1/messages", json=bad)
    assert r.status_code == 422 and "transfer_channel" in r.text, r.text
    assert _state(demo, "MD-XFER-1")[2] == ("first_contact",)
    r = demo.post("town01", "/api/v1/messages", json=request)
    assert r.status_code == 200, r.text
    assert _state(demo, "MD-XFER-1")[2] == ("accept_transfer",)
    detail = demo.get("county01", "/api/v1/cases/MD-XFER-1").json()["case"]
    assert detail["owner_org"] == "qs-dc-hp-01"  # 首问负责: not the receiver until it accepts


def test_a_centre_reopens_a_closed_case_within_its_window(demo: World) -> None:
    """重新办理: a township centre (or the 回访 agent) sends ``reopen_request`` to a case closed
    less than 30 days ago; a grid worker may not; the payload is checked against its form."""
    driver = Driver(demo.engine)
    driver.start("MD-REOPEN-1", sc.report("MD-REOPEN-1"), GRID_WORKER)
    driver.run_all("MD-REOPEN-1", sc.main_path(demo.clock.now()))
    assert _state(demo, "MD-REOPEN-1")[1] == "CLOSED"
    request = {"name": "reopen_request", "correlation_key": "MD-REOPEN-1",
               "payload": {"reason_type": "party_complaint", "reason": "噪音问题再次出现。"}}  # fmt: skip
    r = demo.post("grid01", "/api/v1/messages", json=request)
    assert r.status_code == 403, r.text
    bad = {**request, "payload": {"reason_type": "party_complaint"}}
    r = demo.post("town01", "/api/v1/messages", json=bad)
    assert r.status_code == 422 and "reason" in r.text, r.text
    r = demo.post("town01", "/api/v1/messages", json=request)
    assert r.status_code == 200, r.text
    detail = demo.get("county01", "/api/v1/cases/MD-REOPEN-1").json()["case"]
    assert (detail["status"], detail["closed_at"], detail["reopen_count"]) == (
        "REGISTERED",
        None,
        1,
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("version: 1\nmessages:\n  tier_timeout: {roles: [grid_worker]}\n", "sent only by"),
        ("version: 1\nmessages:\n  m: {roles: [auditor]}\n", "not roles that act"),
        ("version: 1\nmessages:\n  m: {roles: [nobody]}\n", "not roles that act"),
        ("version: 1\nmessages:\n  m: {roles: []}\n", "at least one role"),
        ("version: 1\nmessages:\n  m: grid_worker\n", "at least one role"),
        ("version: 2\nmessages: {}\n", "version: 1"),
        ("messages: [a, b]\n", "version: 1"),
        ("version: 1\nmessages: [m]\n", "a mapping"),
        ("version: [1\n", "not readable YAML"),
    ],
)
def test_the_message_file_is_checked(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "messages.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MessageConfigError) as refused:
        load_message_policy(path, {"tier_timeout"})
    assert words in refused.value.message and "messages.yaml" in refused.value.message


def test_the_shipped_file_loads_and_keeps_engine_messages_out() -> None:
    policy = load_message_policy(Settings().messages_file, {"tier_timeout"})
    assert set(policy.senders) == {
        "extension_request", "hang_request", "transfer_request", "reopen_request",
    }  # fmt: skip
    assert set(policy.senders["transfer_request"]) == {"township_center", "county_center"}
    assert "auditor" not in policy.senders["extension_request"]
    with pytest.raises(PermissionDenied):
        policy.senders_of("tier_timeout")
    assert load_message_policy(Path("/nonexistent/messages.yaml")).senders == {}
