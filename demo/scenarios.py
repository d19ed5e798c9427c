"""Canned paths through the shipped dispute process, driven through the engine as real users.

Used by ``bihuan demo`` (cases in different states), the benchmarks and the scenario tests. Each
step completes the case's open task with the given element id, as a user who holds the task's
candidate organisation and role (claim, then complete), so the inbox rules are exercised too.

The step builders return ``(element_id, form)`` pairs whose forms pass the shipped JSON Schemas;
:class:`Driver` runs them and records who held each task (``driver.trail(case_no)``). With
``reload=True`` the driver drops the engine's in-process workflow cache before every command, so
each step loads the stored state (save → reload at every wait).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.audit import SYSTEM, Actor
from engine.errors import NotFound
from engine.runtime import Engine
from engine.storage.models import HumanTask, Instance, UserRole
from engine.vocabulary import OPEN_TASK_STATES

Step = tuple[str, dict[str, Any]]


# ================================================================ step builders


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


def screen(
    severity: str = "blue",
    category: str = "neighbourhood",
    difficulty: str = "simple",
    urgency: str = "normal",
    **extra: Any,
) -> Step:
    return (
        "screen_case",
        {
            "screen_outcome": "register",
            "screen_opinion": "经核实，情况属实。",
            "category": category,
            "severity": severity,
            "difficulty": difficulty,
            "urgency": urgency,
            **extra,
        },
    )


def screen_red(case_leader: str = "leader01", category: str = "labour") -> Step:
    """A red case (群体性): routed to the county, with its 包案领导."""
    return screen("red", category, "complex", case_leader=case_leader, red_criteria=["group"])


def screen_out(outcome: str, **extra: Any) -> Step:
    """Not registered: ``invalid`` (with ``invalid_reason``), ``divert`` (``diverted_channel``)
    or ``merge`` (``master_case_no``)."""
    return (
        "screen_case",
        {"screen_outcome": outcome, "screen_opinion": "经甄别研判。", **extra},
    )


def inform_party(now: datetime) -> Step:
    return (
        "inform_party",
        {
            "inform_method": "written",
            "informed_at": _iso(now),
            "notice_no": "青东告〔2026〕1号",
            "inform_content": "本事项属劳动仲裁受理范围，请向县劳动人事争议仲裁委员会申请。",
            "party_acknowledged": True,
        },
    )


def leader_steps(now: datetime) -> list[Step]:
    """包案领导: 稳控措施 then 化解方案."""
    until = (now + timedelta(days=7)).date().isoformat()
    return [
        (
            "leader_stabilize",
            {
                "stabilization_measures": [
                    {"measure": "派出所驻点稳控", "responsible": "西河派出所", "until": until}
                ],
                "stabilized": True,
            },
        ),
        (
            "leader_plan",
            {
                "resolution_plan": "由县人社局牵头，督促企业一周内分期支付。",
                "plan_target_date": (now + timedelta(days=28)).date().isoformat(),
            },
        ),
    ]


def assign_leader(user: str) -> Step:
    """上报 to a township or the county: the new tier's centre names its 包案领导."""
    return ("assign_case_leader", {"case_leader": user, "leader_assign_note": "本级包案。"})


def escalated_leader(now: datetime, user: str) -> list[Step]:
    """The new tier's 包案领导 named, then the leader's 化解方案 (before 交办 at that tier)."""
    return [assign_leader(user), leader_steps(now)[1]]


def dispatch(unit: str) -> Step:
    return ("dispatch_case", {"dispatch_action": "dispatch", "handling_unit": unit})


def send_down(target_tier: str) -> Step:
    return (
        "dispatch_case",
        {
            "dispatch_action": "send_down",
            "target_tier": target_tier,
            "send_down_reason": "属地可化解，下沉办理。",
        },
    )


def sign() -> Step:
    return ("sign_case", {"sign_decision": "sign"})


def request_return(reason: str = "function_mismatch", suggested: str | None = None) -> Step:
    form: dict[str, Any] = {
        "sign_decision": "return",
        "return_reason": reason,
        "return_basis": "该事项不属本单位职能，依据“三定”方案应由其他部门办理。",
    }
    if suggested:
        form["suggested_unit"] = suggested
    return ("sign_case", form)


def review_return(approved: bool) -> Step:
    opinion = "同意，改派。" if approved else "理由不成立，须办理。"
    return ("return_review", {"return_approved": approved, "return_review_opinion": opinion})


def contact(now: datetime) -> Step:
    return (
        "first_contact",
        {
            "contacted_at": _iso(now),
            "contact_method": "visit",
            "parties_reached": True,
            "first_contact_note": "双方情绪平稳，诉求明确。",
        },
    )


def handle(action: str = "feedback", **extra: Any) -> Step:
    return ("handle_case", {"handle_action": action, "progress_note": "已走访双方。", **extra})


def feedback(resolved: bool = True) -> Step:
    form: dict[str, Any] = {
        "resolved": resolved,
        "result_summary": "双方达成谅解。" if resolved else "本层级未能化解。",
        "resolution_method": "settlement",
    }
    if not resolved:
        form.update(unresolved_reason="需更高层级协调。", suggest_escalation=True)
    return ("feedback_result", form)


def review(decision: str = "pass", **extra: Any) -> Step:
    if decision == "rework":
        extra.setdefault("rework_reason", "未附调解协议。")
    if decision == "escalate":
        extra.setdefault("escalation_reason", "本层级无法化解。")
    return ("review_result", {"review_decision": decision, "review_opinion": "同意。", **extra})


def revisit(
    now: datetime,
    satisfaction: int | None = 4,
    *,
    problem_solved: bool | None = None,
    agreement_performed: bool | None = None,
) -> Step:
    """回访: ``satisfaction`` None = the party not reached; ``problem_solved`` defaults to
    satisfaction ≥ 3; ``agreement_performed`` is recorded when given (协议履行)."""
    base: dict[str, Any] = {"revisit_method": "phone", "revisit_at": _iso(now)}
    if satisfaction is None:
        return ("revisit_party", {"contact_result": "unreachable", **base})
    if satisfaction <= 2:
        base["dissatisfaction_reason"] = "问题没有解决。"
    if agreement_performed is not None:
        base["agreement_performed"] = agreement_performed
    solved = satisfaction >= 3 if problem_solved is None else problem_solved
    return (
        "revisit_party",
        {
            "contact_result": "reached",
            "satisfaction": satisfaction,
            "problem_solved": solved,
            **base,
        },
    )


def dissatisfaction(decision: str) -> Step:
    form: dict[str, Any] = {"dissatisfaction_decision": decision}
    if decision == "reopen":
        form["dissatisfaction_note"] = "承办单位办理不到位，重新办理。"
    else:
        form.update(
            dissatisfaction_note="诉求超出法律规定，已依法答复。",
            exclusion_basis="unreasonable_demand",
        )
    return ("review_dissatisfaction", form)


MEDIATION = {
    "mediation_type": "people",
    "mediation_mode": "invite",
    "parties_consent": True,
    "mediator": "和平社区人民调解委员会",
    "mediation_record": "邀请双方亲属参与调解。",
}


def mediate(agreement_date: str | None = None, jc_requested: bool = False) -> Step:
    """人民调解: without ``agreement_date`` no agreement is reached."""
    form: dict[str, Any]
    if agreement_date is None:
        form = {**MEDIATION, "mediation_outcome": "no_agreement", "failure_reason": "分歧较大。"}
    else:
        form = {
            **MEDIATION,
            "mediation_outcome": "agreement",
            "agreement_date": agreement_date,
            "agreement_summary": "夜间十点后不得产生噪音，赔偿五千元。",
            "jc_requested": jc_requested,
        }
    return ("mediate_case", form)


def inform_channels(now: datetime) -> Step:
    """调解不成: the parties are told the statutory channels (人民调解法 第26条)."""
    form = {"channels_informed": ["litigation", "arbitration"], "channels_informed_at": _iso(now),
            "channels_inform_method": "written"}  # fmt: skip
    return ("inform_channels", form)


def judicial_confirmation(now: datetime) -> Step:
    """司法确认, step 1: both parties apply to the court (within 30 days of the agreement)."""
    form = {"jc_court": "西河人民法庭", "jc_applied_at": now.date().isoformat(),
            "jc_joint_application": True}  # fmt: skip
    return ("judicial_confirmation", form)


def jc_ruling(now: datetime, result: str = "confirmed") -> Step:
    """司法确认, step 2: the court's ruling, recorded when it arrives."""
    form: dict[str, Any] = {"jc_result": result}
    if result != "withdrawn":
        form["jc_ruled_at"] = now.date().isoformat()
    if result == "confirmed":
        form["jc_ruling_no"] = "(2026)青西民特1号"
    return ("jc_ruling", form)


def summon(departments: list[str]) -> Step:
    return (
        "summon_departments",
        {"whistle_departments": departments, "whistle_matter": "物业公司停水停电，业主聚集。"},
    )


def report_in(now: datetime, department: str) -> Step:
    return (
        "report_in",
        {
            "report_arrived": True,
            "report_in_at": _iso(now),
            "report_opinion": f"{department} 到场意见",
            "report_measures": "到场协调。",
        },
    )


def approve_extension(approved: bool = True, days: int = 5) -> Step:
    form: dict[str, Any] = {"extension_approved": approved, "extension_reason": "同意延期。"}
    if approved:
        form["extension_days"] = days
    else:
        form["extension_reason"] = "不同意延期。"
    return ("approve_extension", form)


def approve_hang(approved: bool = True, days: int = 90) -> Step:
    form: dict[str, Any] = {"hang_approved": approved, "hang_reason": "待法院判决，同意挂账。"}
    if approved:
        form["hang_days"] = days
    return ("approve_hang", form)


def handling(unit: str, now: datetime) -> list[Step]:
    """交办 → 签收 → 联系 → 处置 → 反馈 (resolved)."""
    return [dispatch(unit), sign(), contact(now), handle(), feedback()]


def closing(now: datetime, satisfaction: int = 4) -> list[Step]:
    return [review(), revisit(now, satisfaction)]


def main_path(now: datetime, unit: str = "qs-dc-hp-01") -> list[Step]:
    """Resolved at the grid: screen → dispatch → sign → contact → handle → feedback → review →
    revisit (satisfied) → closed. Eight completions."""
    return [screen(), *handling(unit, now), *closing(now)]


def _iso(now: datetime) -> str:
    return now.replace(microsecond=0).isoformat()


# ================================================================ the driver


class Driver:
    """Drives cases through the engine as the users who hold each task."""

    def __init__(self, engine: Engine, *, reload: bool = False) -> None:
        self.engine = engine
        self.reload = reload
        self._people: dict[tuple[str | None, str | None], Actor] = {}
        self._trail: dict[str, list[tuple[str, str]]] = {}

    # ---------------------------------------------------------------- who did what
    def trail(self, case_no: str) -> list[tuple[str, str]]:
        """(element id, user id) of every task this driver completed on the case, in order."""
        return list(self._trail.get(case_no, []))

    def holders(self, case_no: str) -> list[str]:
        return [user for _, user in self._trail.get(case_no, [])]

    # ---------------------------------------------------------------- commands
    def start(self, case_no: str, data: dict[str, Any], actor: Actor) -> Instance:
        self._fresh()
        return self.engine.start("dispute", case_no, data, actor)

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

    def open_tasks(self, case_no: str, element_id: str | None = None) -> list[HumanTask]:
        query = select(HumanTask).where(
            HumanTask.case_no == case_no, HumanTask.state.in_(OPEN_TASK_STATES)
        )
        if element_id is not None:
            query = query.where(HumanTask.element_id == element_id)
        with self.engine.db.session() as s:
            return list(s.scalars(query.order_by(HumanTask.element_id, HumanTask.candidate_org)))

    def open_task(self, case_no: str, element_id: str, org: str | None = None) -> HumanTask:
        tasks = [t for t in self.open_tasks(case_no, element_id) if org in (None, t.candidate_org)]
        if not tasks:
            raise NotFound(f"case {case_no} has no open task {element_id}")
        return tasks[0]

    def do(
        self, case_no: str, element_id: str, form: dict[str, Any], *, org: str | None = None
    ) -> Actor:
        """Claim and complete the case's open task ``element_id`` (of candidate ``org``)."""
        task = self.open_task(case_no, element_id, org)
        actor = self.actor_for(task)
        if task.assignee != actor.user_id:
            self._fresh()
            self.engine.claim(task.id, actor)
        self._fresh()
        self.engine.complete(task.id, form, actor)
        self._trail.setdefault(case_no, []).append((element_id, actor.user_id))
        return actor

    def run(self, case_no: str, steps: list[Step]) -> Iterator[Actor]:
        for element_id, form in steps:
            yield self.do(case_no, element_id, form)

    def run_all(self, case_no: str, steps: list[Step]) -> list[str]:
        """Run the steps; return the users who held them."""
        return [a.user_id for a in self.run(case_no, steps)]

    def message(
        self, case_no: str, name: str, payload: dict[str, Any], actor: Actor = SYSTEM
    ) -> str:
        self._fresh()
        return self.engine.deliver_message(name, case_no, payload, actor)

    def fire_timers(self, case_no: str) -> bool:
        self._fresh()
        return self.engine.fire_due_timers(self.instance_id(case_no))

    def instance_id(self, case_no: str) -> str:
        with self.engine.db.session() as s:
            found = s.scalar(select(Instance.id).where(Instance.business_key == case_no))
        if found is None:
            raise NotFound(f"no case {case_no}")
        return found

    def _fresh(self) -> None:
        if self.reload:
            self.engine.workflows.clear()
