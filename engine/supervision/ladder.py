"""The supervision ladder (督办阶梯) 提示→警示→通报→约谈→督查: scheduling a task's or a case's
rungs, firing one, cancelling them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import SCHEDULER
from engine.scheduler import items
from engine.scheduler.items import ClaimedItem
from engine.storage.models import HumanTask, Notification
from engine.supervision import records, texts
from engine.supervision.core import HANDED_IN, Scope, SupervisionCore
from engine.vocabulary import OPEN_TASK_STATES
from engine.workdays import Suspend, rung_level


class Ladder(SupervisionCore):
    """The ladder's rungs: schedule, fire, cancel."""

    def fire_rung(self, session: Session, item: ClaimedItem, now: datetime) -> None:
        sc = self._scope_for(session, item.case_no, now)
        if sc is None:
            return
        target = str(item.payload.get("target"))
        rec = sc.state.get("case") if target == "case" else sc.state["tasks"].get(target)
        if rec is None or rec.get("gen") != item.payload.get("gen") or rec.get("suspended_at"):
            return  # superseded by a recompute, or the clock is stopped
        if target == "case" and (sc.case.closed_at is not None or sc.case.status in HANDED_IN):
            return
        task = None
        if target != "case":
            task = session.get(HumanTask, target)
            if task is None or task.state not in OPEN_TASK_STATES:
                return
        self._apply_rung(sc, str(item.payload["rung"]), rec, task)
        sc.finish()

    # ---------------------------------------------------------------- the ladder
    def _schedule_rungs(
        self, sc: Scope, target: str, rec: dict[str, Any], *, task_id: str | None = None
    ) -> None:
        current = records.due_result(rec)
        # Time spent suspended does not count: shares of the limit run from a start moved later
        # by the suspensions, so a rung never falls inside (or because of) a 挂账.
        stopped = sum(
            (a.end - a.start for a in current.rule.adjustments if isinstance(a, Suspend)),
            timedelta(),
        )
        start = min(current.start + stopped, current.due)
        rungs = [
            (rung.name, rung.at)
            for rung in self.policy.ladder_rungs(
                start, current.due, rec["severity"], self.calendar, rule=current.rule
            )
        ]
        triggers = self.policy.ladder.triggers
        names = {name for name, _ in rungs}
        if triggers.inspection_after_interview_no_improvement and "inspection" not in names:
            for name, at in list(rungs):
                if name == "interview":
                    wait = self.calendar.due(self.config.inspection_wait, at).due
                    rungs.append(("inspection", wait))
        fired = set(rec.get("fired") or [])
        for name, at in rungs:
            if name in fired:
                continue
            key = f"ladder:{sc.case.case_no}:{target}:{rec['gen']}:{name}"
            # queued; written with the command's other rungs in one INSERT (Scope.flush)
            sc.writes.rows.setdefault(
                key,
                items.item_row(
                    kind="ladder",
                    dedupe_key=key,
                    due_at=at,
                    now=sc.now,
                    instance_id=sc.case.instance_id,
                    case_no=sc.case.case_no,
                    task_id=task_id,
                    payload={"target": target, "rung": name, "gen": rec["gen"]},
                ),
            )

    def _cancel_rungs(self, sc: Scope, target: str) -> None:
        sc.writes.cancel(target)

    def _apply_rung(
        self,
        sc: Scope,
        name: str,
        rec: dict[str, Any],
        task: HumanTask | None,
        *,
        trigger: str = "time",
    ) -> None:
        case = sc.case
        level = rung_level(name)
        before = case.ladder_level if case.ladder_level is not None else -1
        case.ladder_level = max(before, level)  # monotone: never goes down
        case.updated_at = sc.now
        if "fired" in rec:
            rec["fired"] = [*rec["fired"], name]
        kind = texts.rung_kind(name)
        what = f"任务「{task.name}」" if task is not None else "案件办理"
        sc.audit.add(
            f"ladder_{kind}",
            SCHEDULER if trigger == "time" else sc.actor,
            task_id=task.id if task is not None else None,
            rung=name,
            label=texts.rung_label(name),
            level=level,
            ladder_level_before=before,
            ladder_level=case.ladder_level,
            due_at=rec["due"],
            rule=rec["text"],
            trigger=trigger,
        )
        title = texts.rung_title(name, case.case_no)
        body = texts.rung_body(
            name, title=case.title, what=what, due=records.due_of(rec), rule=str(rec["text"])
        )
        unit = case.handling_unit or case.owner_org
        payload = {"rung": name, "level": level, "task_id": task.id if task else None}
        if task is not None:
            self._notify(
                sc,
                f"ladder_{kind}",
                title,
                body,
                org=task.candidate_org,
                role=task.candidate_role,
                user=task.assignee,
                payload=payload,
            )
        else:
            self._notify(sc, f"ladder_{kind}", title, body, org=unit, payload=payload)
        if kind in ("warning", "interview", "inspection"):  # 抄送分管领导 / 单位负责人
            org, role = self._leader_of(sc.session, unit)
            self._notify(sc, f"ladder_{kind}_cc", title, body, org=org, role=role, payload=payload)
        if kind in ("circular", "interview", "inspection"):
            self._notify(
                sc,
                f"ladder_{kind}_supervisor",
                title,
                body,
                role=self.config.supervisor_role,
                payload=payload,
            )
        if kind == "circular" and unit and case.ladder_level < rung_level("interview"):
            self._circulars_may_call_interview(sc, unit, rec)

    def _circulars_may_call_interview(self, sc: Scope, unit: str, rec: dict[str, Any]) -> None:
        since = sc.now - self.config.circular_window
        sc.session.flush()
        count = sc.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.kind == "ladder_circular",
                Notification.recipient_org == unit,
                Notification.created_at >= since,
            )
        )
        if int(count or 0) >= self.policy.ladder.triggers.interview_circulars_per_quarter:
            self._apply_rung(sc, "interview", rec, None, trigger="circulars_per_quarter")
