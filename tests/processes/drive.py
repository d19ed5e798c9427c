"""One dispute instance driven by hand through raw SpiffWorkflow, with the engine's sandbox, its
expression helpers (dates, working days) and its timer clock all on one :class:`ManualClock`.

Each completed human task's form is validated against its JSON Schema and its lane resolved to a
candidate with ``engine.orgs.LaneResolver``. The full scenarios through the engine live in
``tests/scenarios``; these drives prove the model itself executable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import Candidate
from engine.clock import ManualClock
from engine.spiff import Workflow, engine_time, hand_over_branch_keys
from tests.processes.support import START, beijing, errors, fresh_parser, resolver, script_engine


class Drive:
    """One dispute instance driven by hand: ``do(element_id, **form)`` completes a human task."""

    def __init__(self, clock: ManualClock | None = None, **report: Any) -> None:
        self.clock = clock or ManualClock(START)
        p = fresh_parser()
        self.wf = BpmnWorkflow(
            p.get_spec("dispute"),
            p.get_subprocess_specs("dispute"),
            script_engine=script_engine(self.clock),
        )
        data = {
            "case_no": "MD-2026-0001",
            "title": "和平社区楼上楼下噪音纠纷",
            "description": "楼上住户夜间噪音影响休息,多次协商未果。",
            "source_channel": "grid_patrol",
            "grid_code": "qs-dc-hp-01",
            "parties": [
                {"name": "张三", "role": "applicant", "phone": "13800000000"},
                {"name": "李四", "role": "respondent"},
            ],
            "risk_flags": [],
            **report,
        }
        assert not errors("report.schema.json", data)
        start = self.wf.get_tasks(state=TaskState.READY)[0]
        start.set_data(**data)
        with self.engine_time():
            self.wf.do_engine_steps()
        self.trail: list[tuple[str, str | None]] = []

    # -- time: one clock for the helpers and SpiffWorkflow's timers

    @contextmanager
    def engine_time(self) -> Iterator[None]:
        with engine_time(self.clock.now):
            yield

    def now(self) -> str:
        """The clock's instant in Beijing time (what a caseworker's form would send)."""
        return beijing(self.clock).isoformat()

    def today(self, days: int = 0) -> str:
        """The clock's date in Beijing (plus ``days``), as a form's date field holds it."""
        return (beijing(self.clock).date() + timedelta(days=days)).isoformat()

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock on and let due timers fire (what the scheduler's sweep does)."""
        moment = self.clock.advance(delta)
        with self.engine_time():
            self.wf.refresh_timers()
            self.wf.do_engine_steps()
        return moment

    def timers(self) -> list[str]:
        """The due instants of the waiting date timers, as SpiffWorkflow computed them."""
        return [
            str(e.value)
            for e in self.wf.waiting_events()
            if e.event_type == "TimeDateEventDefinition"
        ]

    def ready(self) -> list[Any]:
        return list(self.wf.get_tasks(state=TaskState.READY, manual=True))

    def ready_ids(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in self.ready())

    def task(self, element_id: str) -> Any:
        found = [t for t in self.ready() if t.task_spec.bpmn_id == element_id]
        assert found, f"{element_id} is not ready; ready: {self.ready_ids()}"
        return found[0]

    def candidate(self, element_id: str) -> Candidate:
        return self.candidate_of(self.task(element_id))

    @staticmethod
    def candidate_of(t: Any) -> Candidate:
        props = t.task_spec.extensions.get("properties", {})
        return resolver().resolve(
            lane=t.task_spec.lane, element_id=t.task_spec.bpmn_id, properties=props, data=t.data
        )

    def do(self, element_id: str, **form: Any) -> None:
        self.complete(self.task(element_id), **form)

    def complete(self, t: Any, **form: Any) -> None:
        """Complete one ready task with a form (validated, its lane resolved), then step."""
        element_id = t.task_spec.bpmn_id
        props = t.task_spec.extensions.get("properties", {})
        problems = errors(props["formJsonSchemaFilename"], form)
        assert not problems, f"{element_id}: {problems}"
        self.candidate_of(t)  # every task has somebody to do it
        self.trail.append((element_id, t.task_spec.lane))
        t.set_data(**form)
        with self.engine_time():
            t.run()
            self.wf.do_engine_steps()
            hand_over_branch_keys(self.wf)  # as the engine does (a red case's 稳控)

    def message(self, name: str, payload: dict[str, Any]) -> None:
        """Deliver a message the way the engine does (an event sub-process it starts sees the
        process's data as it stands, not the start data)."""
        with self.engine_time():
            Workflow(self.wf).send_message(name, payload)

    @property
    def data(self) -> dict[str, Any]:
        tasks = self.ready()
        result: dict[str, Any] = (tasks[0] if tasks else self.wf.last_task).data
        return result

    def done(self) -> dict[str, Any]:
        """The data of a finished case: ended, or 办结 and waiting out its reopening window."""
        result: dict[str, Any] = self.wf.last_task.data
        if not self.wf.is_completed():
            assert not self.ready_ids() and result.get("case_status") == "CLOSED", (
                f"still running; ready: {self.ready_ids()}"
            )
        return result

    # -- the common steps

    def screen(self, **form: Any) -> None:
        form = {"screen_outcome": "register", "screen_opinion": "经核实,情况属实。", **form}
        if form["screen_outcome"] == "register":
            form.setdefault("urgency", "normal")
        self.do("screen_case", **form)

    def register(
        self,
        category: str = "neighbourhood",
        severity: str = "blue",
        difficulty: str = "simple",
        urgency: str = "normal",
    ) -> None:
        self.screen(category=category, severity=severity, difficulty=difficulty, urgency=urgency)

    def dispatch(self, unit: str) -> None:
        self.do("dispatch_case", dispatch_action="dispatch", handling_unit=unit)

    def sign(self) -> None:
        self.do("sign_case", sign_decision="sign")

    def contact(self) -> None:
        self.do(
            "first_contact",
            contacted_at=self.now(),
            contact_method="visit",
            parties_reached=True,
            first_contact_note="双方情绪平稳,诉求明确。",
        )

    def handle(self, action: str = "feedback", **extra: Any) -> None:
        self.do("handle_case", handle_action=action, progress_note="已走访双方。", **extra)

    def feedback(self, resolved: bool = True) -> None:
        extra = (
            {}
            if resolved
            else {"unresolved_reason": "需更高层级协调。", "suggest_escalation": True}
        )
        self.do(
            "feedback_result",
            resolved=resolved,
            result_summary="双方达成谅解。",
            resolution_method="settlement",
            **extra,
        )

    def review(self, decision: str = "pass", **extra: Any) -> None:
        self.do("review_result", review_decision=decision, review_opinion="同意。", **extra)

    def revisit(self, satisfaction: int | None = 4) -> None:
        base = {"revisit_method": "phone", "revisit_at": self.now()}
        if satisfaction is None:
            self.do("revisit_party", contact_result="unreachable", **base)
            return
        extra = {"dissatisfaction_reason": "问题没有解决。"} if satisfaction <= 2 else {}
        self.do(
            "revisit_party",
            contact_result="reached",
            satisfaction=satisfaction,
            problem_solved=satisfaction >= 3,
            **base,
            **extra,
        )

    def through_handling(self, unit: str) -> None:
        self.dispatch(unit)
        self.sign()
        self.contact()
        self.handle()
        self.feedback()
