"""Canned paths through the shipped dispute process, driven through the engine as real users.

Used by ``bihuan demo`` (cases in different states), the benchmarks and the scenario tests. Each
step completes the case's open task with the given element id, as a user who holds the task's
candidate organisation and role (claim, then complete), so the inbox rules are exercised too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.audit import Actor
from engine.errors import NotFound
from engine.runtime import Engine
from engine.storage.models import HumanTask, UserRole

Step = tuple[str, dict[str, Any]]


def report(case_no: str, grid: str = "qs-dc-hp-01", **extra: Any) -> dict[str, Any]:
    return {
        "case_no": case_no,
        "title": "和平社区楼上楼下噪音纠纷",
        "description": "楼上住户夜间噪音影响休息，多次协商未果。",
        "source_channel": "grid_patrol",
        "grid_code": grid,
        "parties": [
            {"name": "张三", "role": "applicant", "phone": "13800000000"},
            {"name": "李四", "role": "respondent"},
        ],
        "risk_flags": [],
        **extra,
    }


def screen(severity: str = "blue", category: str = "neighbourhood", **extra: Any) -> Step:
    return (
        "screen_case",
        {
            "screen_outcome": "register",
            "screen_opinion": "经核实，情况属实。",
            "category": category,
            "severity": severity,
            "difficulty": "simple",
            **extra,
        },
    )


def handling(unit: str, now: datetime) -> list[Step]:
    return [
        ("dispatch_case", {"dispatch_action": "dispatch", "handling_unit": unit}),
        ("sign_case", {"sign_decision": "sign"}),
        (
            "first_contact",
            {
                "contacted_at": now.isoformat(),
                "contact_method": "visit",
                "parties_reached": True,
                "first_contact_note": "双方情绪平稳，诉求明确。",
            },
        ),
        ("handle_case", {"handle_action": "feedback", "progress_note": "已走访双方。"}),
        (
            "feedback_result",
            {
                "resolved": True,
                "result_summary": "双方达成谅解。",
                "resolution_method": "settlement",
            },
        ),
    ]


def closing(now: datetime, satisfaction: int = 4) -> list[Step]:
    return [
        ("review_result", {"review_decision": "pass", "review_opinion": "同意。"}),
        (
            "revisit_party",
            {
                "revisit_method": "phone",
                "revisit_at": now.isoformat(),
                "contact_result": "reached",
                "satisfaction": satisfaction,
                "problem_solved": satisfaction >= 3,
            },
        ),
    ]


def main_path(now: datetime, unit: str = "qs-dc-hp-01") -> list[Step]:
    """Resolved at the grid: screen → dispatch → sign → contact → handle → feedback → review →
    revisit (satisfied) → closed. Eight completions."""
    return [screen(), *handling(unit, now), *closing(now)]


class Driver:
    """Drives cases through the engine as the users who hold each task."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._people: dict[tuple[str | None, str | None], Actor] = {}

    def actor_for(self, task: HumanTask) -> Actor:
        if task.assignee:
            return Actor(task.assignee, task.candidate_role, task.candidate_org)
        key = (task.candidate_org, task.candidate_role)
        if key not in self._people:
            with self.engine.db.session() as s:
                user = s.scalar(
                    select(UserRole.user_id)
                    .where(
                        UserRole.org_id == task.candidate_org, UserRole.role == task.candidate_role
                    )
                    .order_by(UserRole.user_id)
                    .limit(1)
                )
            if user is None:
                raise NotFound(f"nobody holds {task.candidate_role} at {task.candidate_org}")
            self._people[key] = Actor(user, task.candidate_role, task.candidate_org)
        return self._people[key]

    def open_task(self, case_no: str, element_id: str) -> HumanTask:
        with self.engine.db.session() as s:
            task = s.scalar(
                select(HumanTask).where(
                    HumanTask.case_no == case_no,
                    HumanTask.element_id == element_id,
                    HumanTask.state.in_(("open", "claimed")),
                )
            )
        if task is None:
            raise NotFound(f"case {case_no} has no open task {element_id}")
        return task

    def do(self, case_no: str, element_id: str, form: dict[str, Any]) -> Actor:
        task = self.open_task(case_no, element_id)
        actor = self.actor_for(task)
        if task.assignee != actor.user_id:
            self.engine.claim(task.id, actor)
        self.engine.complete(task.id, form, actor)
        return actor

    def run(self, case_no: str, steps: list[Step]) -> Iterator[Actor]:
        for element_id, form in steps:
            yield self.do(case_no, element_id, form)
