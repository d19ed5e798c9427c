"""The permission matrix: every role × every endpoint × a case inside / outside jurisdiction.

The expectations are written out here from the rules in docs/api.md, independently of
``engine.access``: readers see their subtree (404 outside, never 403, so existence is not
confirmed), candidates see and claim their tasks, auditors read and change nothing, centre staff
control cases, only designers deploy and only administrators manage users.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.audit.log import Actor
from tests.api.conftest import USERS, World, case_body, loop_bundle

A_DATA = {"rounds": 0, "handler_org": "town_a", "checker_org": "town_a"}
B_DATA = {"rounds": 0, "handler_org": "town_b", "checker_org": "town_b"}
INSIDE = {
    "A": {
        "county_staff",
        "auditor_county",
        "town_a_staff",
        "handler_a",
        "handler_a2",
        "auditor_a",
        "supervisor_a",
        "leader_a",
        "revisit_a",
        "village_a",
        "grid_a",
    },
    "B": {"county_staff", "auditor_county", "town_b_staff", "handler_b", "auditor_b", "grid_b"},
}
CANDIDATES = {"A": {"handler_a", "handler_a2"}, "B": {"handler_b"}}
GRID = {"A": "grid_a1", "B": "grid_b1"}
ROLE = {user: grants[0][0] for user, grants in USERS.items()}
CENTRE = {"township_center", "county_center", "supervisor"}
REPORTERS = {"grid_worker", "village_cmte", "township_center", "county_center"}
AUDIT_READERS = {"auditor", "supervisor", "township_center", "county_center"}
TOWN = {"A": "town_a", "B": "town_b"}


def expected(user: str, case: str, op: str) -> int:
    role = ROLE[user]
    visible = user in INSIDE[case] or user in CANDIDATES[case]
    if op in ("case", "history", "task", "timeline"):
        return 200 if visible else 404
    if op in ("audit", "kpis"):  # the audit record and KPIs: audit readers of the subtree
        if role not in AUDIT_READERS:
            return 403
        return 200 if user in INSIDE[case] else 404
    if op == "listed":
        return 200 if visible else 404
    if op == "report":
        if role not in REPORTERS:
            return 403
        return 201 if user in INSIDE[case] else 422
    if not visible:
        return 404
    if op == "claim":
        return 200 if user in CANDIDATES[case] else 403
    if op == "comment":
        return 403 if role == "auditor" else 201
    if op in ("suspend", "assign"):
        return 200 if role in CENTRE else 403
    raise AssertionError(op)


def test_permission_matrix(world: World) -> None:
    cases = {
        "A": world.report("county_staff", grid_code="grid_a1", data=A_DATA),
        "B": world.report("county_staff", grid_code="grid_b1", data=B_DATA),
    }
    tasks = {k: world.open_task(v) for k, v in cases.items()}
    assignee = {"A": "handler_a2", "B": "handler_b"}
    system = Actor("system:test", "system")

    def reset(k: str) -> None:
        with world.db.session() as s:
            from engine.storage.models import HumanTask

            task = s.get(HumanTask, tasks[k])
            claimed = task is not None and task.state == "claimed"
        if claimed:
            world.engine.unclaim(tasks[k], system, force=True)

    def run(user: str, k: str, op: str) -> int:
        case_no, task = cases[k], tasks[k]
        calls: dict[str, Callable[[], int]] = {
            "case": lambda: world.get(user, f"/api/v1/cases/{case_no}").status_code,
            "history": lambda: world.get(user, f"/api/v1/cases/{case_no}/history").status_code,
            "timeline": lambda: world.get(user, f"/api/v1/cases/{case_no}/timeline").status_code,
            "audit": lambda: (
                world.get(user, "/api/v1/audit/events", params={"case_no": case_no}).status_code
            ),
            "kpis": lambda: (
                world.get(
                    user, "/api/v1/kpis", params={"period": "2026-03", "org": TOWN[k]}
                ).status_code
            ),
            "task": lambda: world.get(user, f"/api/v1/tasks/{task}").status_code,
            "listed": lambda: (
                200
                if case_no
                in {c["case_no"] for c in world.get(user, "/api/v1/cases").json()["items"]}
                else 404
            ),
            "report": lambda: (
                world.post(
                    user, "/api/v1/cases", json=case_body(grid_code=GRID[k], data=A_DATA)
                ).status_code
            ),
            "claim": lambda: world.post(user, f"/api/v1/tasks/{task}/claim").status_code,
            "comment": lambda: (
                world.post(
                    user, f"/api/v1/tasks/{task}/comments", json={"text": "看过"}
                ).status_code
            ),
            "suspend": lambda: (
                world.post(
                    user, f"/api/v1/cases/{case_no}/suspend", json={"reason": "核实中"}
                ).status_code
            ),
            "assign": lambda: (
                world.post(
                    user,
                    f"/api/v1/tasks/{task}/assign",
                    json={"assignee": assignee[k], "reason": "派"},
                ).status_code
            ),
        }
        status = calls[op]()
        if op == "suspend" and status == 200:
            world.engine.resume(_instance(world, case_no), None, system)
        if op in ("claim", "assign") and status == 200:
            reset(k)
        return status

    wrong = []
    ops = (
        "case", "history", "timeline", "audit", "kpis", "task", "listed", "report", "claim",
        "comment", "suspend", "assign",
    )  # fmt: skip
    for user in USERS:
        for k in cases:
            for op in ops:
                got, want = run(user, k, op), expected(user, k, op)
                if got != want:
                    wrong.append(f"{user:15} {ROLE[user]:16} case {k} {op:8} got {got} want {want}")
        deploy = world.post(
            user,
            "/api/v1/definitions",
            files=[
                ("files", (f.filename, f.content, "application/octet-stream"))
                for f in loop_bundle("p_" + user.replace(".", "_"))
            ],
        ).status_code
        if deploy != (201 if ROLE[user] == "designer" else 403):
            wrong.append(f"{user:15} deploy got {deploy}")
        users = world.get(user, "/api/v1/users").status_code
        if users != (200 if ROLE[user] == "admin" else 403):
            wrong.append(f"{user:15} users got {users}")
    assert not wrong, "\n" + "\n".join(wrong)


def _instance(world: World, case_no: str) -> str:
    from engine.storage.models import Case

    with world.db.session() as s:
        case = s.get(Case, case_no)
        assert case is not None
        return case.instance_id
