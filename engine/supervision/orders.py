"""Human 督办: supervision orders issued by a 督办员 or a leader, on a case or on a unit.

Kinds (``SupervisionOrder.kind``):

* ``order`` 督办单 — the unit answers with a 情况说明 (form ``supervision_answer``) within
  ``limit_days`` working days; unanswered, it climbs the ladder 警示(1) → 通报(2) → 约谈(3) →
  督查(4), one rung per limit, each rung notifying the unit, its leader and the 督办员.
* ``listed`` 挂牌督办 — an order on a listed case; unanswered, it goes straight to 督查.
* ``circular`` 通报 — a unit-level circular: to the unit, its superior and the 督办员; published
  in the list of circulars. Not tied to a single case.
* ``interview`` 约谈, ``inspection`` 督查 — recorded when held, with their outcome; an interview
  without improvement calls an inspection (``inspection_after_interview_no_improvement``).

Each act is audited in the chain: the case's when on a case, else the order's own chain (keyed
by the order number). Who may issue: :data:`ISSUERS` covering the unit; who answers: a user
holding a role at the unit itself.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.access import CASE_READERS, OPERATORS, Principal
from engine.audit import SCHEDULER, Actor, AuditLog
from engine.errors import Conflict, InputInvalid, NotFound, PermissionDenied
from engine.notify import enqueue
from engine.runtime.forms import FormValidator
from engine.scheduler import items
from engine.scheduler.items import ClaimedItem
from engine.settings import ROOT
from engine.storage.models import Case, Instance, OrgUnit, SupervisionOrder
from engine.supervision.core import CLOSED, SupervisionCore
from engine.workdays import RuleSpec

#: Who may issue 督办: 督办员, the centres, leaders (包案领导).
ISSUERS = frozenset({"supervisor", "county_center", "township_center", "case_leader"})
KINDS = ("order", "listed", "circular", "interview", "inspection")
ANSWERED = ("order", "listed")
HELD = ("interview", "inspection")
RUNGS = {1: "警示", 2: "通报", 3: "约谈", 4: "督查"}
LABELS = {"order": "督办单", "listed": "挂牌督办", "circular": "通报", "interview": "约谈",
          "inspection": "督查"}  # fmt: skip
ANSWER_FORM = ROOT / "forms" / "supervision_answer.schema.json"


class Orders(SupervisionCore):
    """Issue, answer, record, list 督办; escalate an unanswered order."""

    _answer_form: FormValidator | None = None
    #: The default answer limit in working days (``BIHUAN_SUPERVISION_ANSWER_DAYS``).
    answer_days: int = 3

    # ================================================================ commands
    def issue_order(
        self,
        principal: Principal,
        *,
        kind: str,
        title: str,
        body: str = "",
        case_no: str | None = None,
        target_org: str | None = None,
        limit_days: int | None = None,
    ) -> dict[str, Any]:
        with self._db().session() as s:
            now = self.clock.now()
            unit, path, case = self._target(s, case_no, target_org, kind)
            grant = principal.covers(path, ISSUERS)
            if grant is None:
                raise PermissionDenied(
                    f"{principal.user_id} may not issue 督办 to {unit}: needs one of "
                    f"{', '.join(sorted(ISSUERS))} over that unit"
                )
            actor = principal.actor(grant)
            order = self.new_order(
                s, now, actor, kind=kind, title=title, body=body, unit=unit, path=path,
                case=case, limit_days=limit_days,
            )  # fmt: skip
            return order_view(order)

    def new_order(
        self,
        s: Session,
        now: datetime,
        actor: Actor,
        *,
        kind: str,
        title: str,
        body: str,
        unit: str,
        path: str,
        case: Case | None,
        limit_days: int | None = None,
        trigger: str = "manual",
        dedupe_key: str | None = None,
        audit: AuditLog | None = None,
    ) -> SupervisionOrder:
        """Write an order (also for the rule triggers, in their own transaction)."""
        if kind not in KINDS:
            raise InputInvalid(f"kind: {kind!r} is not one of {', '.join(KINDS)}", field="kind")
        if not title.strip():
            raise InputInvalid("title: 督办事项不能为空 (a title is required)", field="title")
        days = limit_days or self.answer_days
        if kind in ANSWERED and not 1 <= days <= 30:
            raise InputInvalid("limit_days: 1–30 working days", field="limit_days")
        order = SupervisionOrder(
            id=f"DB-{uuid.uuid4().hex[:12].upper()}", kind=kind, case_no=case.case_no if case
            else None, target_org=unit, org_path=path, title=title[:300], body=body,
            trigger=trigger, dedupe_key=dedupe_key, issued_at=now, issued_by=actor.user_id,
            issued_role=actor.role, level=4 if kind == "inspection" else 1,
            state={"circular": "published", "interview": "scheduled",
                   "inspection": "scheduled"}.get(kind, "open"),
        )  # fmt: skip
        if kind in ANSWERED:
            order.limit_days = days
            order.due_at = self.calendar.due(RuleSpec("working_days", days), now).due
            self._schedule_order(s, order, now, case)
        s.add(order)
        log = audit or self._audit(s, order, case, now)
        log.add(f"supervision_{kind}_issued", actor, order_id=order.id, kind=kind,
                title=order.title, target_org=unit, trigger=trigger, limit_days=order.limit_days,
                due_at=order.due_at.isoformat() if order.due_at else None)  # fmt: skip
        if audit is None:
            log.flush()
        what = f"【{LABELS[kind]}】{order.title}"
        text = body or order.title
        payload = {"order_id": order.id, "kind": kind}
        self._tell(s, now, order, what, text, payload, org=unit)
        if kind in ("circular", "interview", "inspection"):
            parent = s.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == unit))
            if parent and kind == "circular":
                self._tell(s, now, order, what, text, payload, org=parent)  # its superior
            self._tell(s, now, order, what, text, payload, role=self.config.supervisor_role)
        org, role = self._leader_of(s, unit)
        self._tell(s, now, order, what, text, payload, org=org, role=role, cc=True)
        return order

    def answer_order(
        self, principal: Principal, order_id: str, form: dict[str, Any]
    ) -> dict[str, Any]:
        """The unit's 情况说明 (form ``supervision_answer``)."""
        self._answer_validator().validate(form)
        with self._db().session() as s:
            now = self.clock.now()
            order = self._locked(s, order_id)
            grant = next((g for g in principal.grants if g.org_id == order.target_org
                          and g.role in OPERATORS), None)  # fmt: skip
            if grant is None:
                raise PermissionDenied(f"only the unit {order.target_org} answers 督办 {order.id}")
            if order.kind not in ANSWERED or order.state != "open":
                raise Conflict(f"督办 {order.id} is {order.state}: nothing to answer")
            actor = principal.actor(grant)
            order.answer, order.answered_at, order.answered_by = dict(form), now, actor.user_id
            order.state = "answered"
            items.cancel(s, [_due_key(order)])
            case = s.get(Case, order.case_no) if order.case_no else None
            log = self._audit(s, order, case, now)
            log.add("supervision_order_answered", actor, order_id=order.id, level=order.level,
                    late=bool(order.due_at and now > order.due_at), answer=dict(form))  # fmt: skip
            log.flush()
            self._tell(s, now, order, f"【督办回复】{order.title}",
                       str(form.get("explanation", "")), {"order_id": order.id},
                       user=order.issued_by)  # fmt: skip
            return order_view(order)

    def record_outcome(
        self, principal: Principal, order_id: str, *, outcome: str, improved: bool
    ) -> dict[str, Any]:
        """约谈/督查 held: its outcome. An interview without improvement calls a 督查."""
        if not outcome.strip():
            raise InputInvalid("outcome: 结果不能为空 (the outcome is required)", field="outcome")
        with self._db().session() as s:
            now = self.clock.now()
            order = self._locked(s, order_id)
            grant = principal.covers(order.org_path, ISSUERS)
            if grant is None:
                raise PermissionDenied(f"{principal.user_id} may not record {order.id}")
            if order.kind not in HELD or order.state != "scheduled":
                raise Conflict(f"督办 {order.id} ({order.kind}, {order.state}) takes no outcome")
            actor = principal.actor(grant)
            order.outcome, order.state = outcome, "recorded"
            order.answer = {**(order.answer or {}), "improved": improved}
            case = s.get(Case, order.case_no) if order.case_no else None
            log = self._audit(s, order, case, now)
            log.add(f"supervision_{order.kind}_recorded", actor, order_id=order.id,
                    outcome=outcome, improved=improved)  # fmt: skip
            follow = None
            triggers = self.policy.ladder.triggers
            again = triggers.inspection_after_interview_no_improvement
            if order.kind == "interview" and not improved and again:
                follow = self.new_order(
                    s, now, actor, kind="inspection", title=f"约谈后未见改进：{order.title}",
                    body=outcome, unit=order.target_org, path=order.org_path, case=case,
                    trigger="interview_no_improvement", dedupe_key=f"after:{order.id}",
                    audit=log,
                )  # fmt: skip
                follow.parent_id = order.id
            log.flush()
            view = order_view(order)
            view["follow_up"] = order_view(follow) if follow else None
            return view

    # ================================================================ reads
    def list_orders(
        self,
        principal: Principal,
        *,
        state: str | None = None,
        kind: str | None = None,
        case_no: str | None = None,
        mine: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Orders in the caller's jurisdiction; ``mine``: those addressed to the caller's units."""
        query = select(SupervisionOrder)
        if mine:
            units = sorted({g.org_id for g in principal.grants})
            query = query.where(SupervisionOrder.target_org.in_(units))
        else:
            paths = principal.paths(CASE_READERS)
            if not paths:
                return []
            query = query.where(or_(*[SupervisionOrder.org_path.startswith(p) for p in paths]))
        for column, value in (("state", state), ("kind", kind), ("case_no", case_no)):
            if value:
                query = query.where(getattr(SupervisionOrder, column) == value)
        with self._db().session() as s:
            found = s.scalars(query.order_by(SupervisionOrder.issued_at.desc()).limit(limit))
            return [order_view(o) for o in found]

    def get_order(self, principal: Principal, order_id: str) -> dict[str, Any]:
        with self._db().session() as s:
            order = s.get(SupervisionOrder, order_id)
            visible = order is not None and (
                principal.covers(order.org_path, CASE_READERS) is not None
                or any(g.org_id == order.target_org for g in principal.grants)
            )
            if order is None or not visible:
                raise NotFound(f"no 督办 {order_id}")
            return order_view(order)

    def answer_form(self) -> dict[str, Any]:
        """The answer's JSON Schema and rjsf ui schema (``forms/supervision_answer.*``)."""
        ui = ANSWER_FORM.with_name("supervision_answer.uischema.json")
        return {
            "form_key": "supervision_answer",
            "form_schema": self._answer_validator().schema,
            "ui_schema": json.loads(ui.read_text(encoding="utf-8")),
        }

    # ================================================================ the ladder of an order
    def fire_order(self, session: Session, item: ClaimedItem, now: datetime) -> None:
        order = session.get(
            SupervisionOrder, str(item.payload.get("order_id")), with_for_update=True
        )
        if order is None or order.state != "open" or order.level != item.payload.get("level"):
            return  # answered, or moved on
        case = session.get(Case, order.case_no) if order.case_no else None
        if case is not None and (case.closed_at is not None or case.status in CLOSED):
            order.state = "closed"
            return
        order.level = 4 if order.kind == "listed" else min(4, order.level + 1)
        rung = RUNGS[order.level]
        log = self._audit(session, order, case, now)
        log.add("supervision_order_escalated", SCHEDULER, order_id=order.id, level=order.level,
                rung=rung, due_at=order.due_at.isoformat() if order.due_at else None)  # fmt: skip
        log.flush()
        what = f"【督办逾期·{rung}】{order.title}"
        text = f"督办单 {order.id} 逾期未回复情况说明，升级为{rung}。"
        payload = {"order_id": order.id, "level": order.level, "rung": rung}
        self._tell(session, now, order, what, text, payload, org=order.target_org)
        org, role = self._leader_of(session, order.target_org)
        self._tell(session, now, order, what, text, payload, org=org, role=role, cc=True)
        self._tell(session, now, order, what, text, payload, role=self.config.supervisor_role)
        if order.level < 4 and order.due_at is not None:
            order.due_at = self.calendar.due(
                RuleSpec("working_days", order.limit_days or self.answer_days), order.due_at
            ).due
            self._schedule_order(session, order, now, case)

    # ================================================================ plumbing
    def _db(self) -> Any:
        if self.db is None:
            raise RuntimeError("督办 needs the service built with a database")
        return self.db

    def _answer_validator(self) -> FormValidator:
        if Orders._answer_form is None:
            schema = json.loads(ANSWER_FORM.read_text(encoding="utf-8"))
            Orders._answer_form = FormValidator("supervision_answer", schema)
        return Orders._answer_form

    def _target(
        self, s: Session, case_no: str | None, target_org: str | None, kind: str
    ) -> tuple[str, str, Case | None]:
        case = None
        if case_no:
            case = s.get(Case, case_no)
            if case is None:
                raise NotFound(f"no case {case_no}")
            if kind in ANSWERED and (case.closed_at is not None or case.status in CLOSED):
                raise Conflict(f"case {case_no} is closed: no 督办 to answer")
            target_org = target_org or case.handling_unit or case.owner_org
        elif kind == "listed":
            raise InputInvalid("case_no: 挂牌督办 names a listed case", field="case_no")
        if not target_org:
            raise InputInvalid("target_org: name the unit (or a case)", field="target_org")
        path = s.scalar(select(OrgUnit.path).where(OrgUnit.id == target_org))
        if path is None:
            raise NotFound(f"no unit {target_org}")
        if case is not None:
            s.execute(select(Instance.id).where(Instance.id == case.instance_id).with_for_update())
        return target_org, path, case

    def _locked(self, s: Session, order_id: str) -> SupervisionOrder:
        order = s.get(SupervisionOrder, order_id, with_for_update=True)
        if order is None:
            raise NotFound(f"no 督办 {order_id}")
        if order.case_no:
            case = s.get(Case, order.case_no)
            if case is not None:
                s.execute(
                    select(Instance.id).where(Instance.id == case.instance_id).with_for_update()
                )
        return order

    def _audit(
        self, s: Session, order: SupervisionOrder, case: Case | None, now: datetime
    ) -> AuditLog:
        if case is not None:
            return AuditLog(s, case.case_no, case.instance_id, now, org_path=case.org_path)
        return AuditLog(s, order.id, None, now, org_path=order.org_path)

    def _schedule_order(
        self, s: Session, order: SupervisionOrder, now: datetime, case: Case | None
    ) -> None:
        assert order.due_at is not None
        items.schedule(
            s, kind="order_due", dedupe_key=_due_key(order), due_at=order.due_at, now=now,
            instance_id=case.instance_id if case else None, case_no=order.case_no,
            payload={"order_id": order.id, "level": order.level},
        )  # fmt: skip

    def _tell(
        self,
        s: Session,
        now: datetime,
        order: SupervisionOrder,
        title: str,
        body: str,
        payload: dict[str, Any],
        *,
        org: str | None = None,
        role: str | None = None,
        user: str | None = None,
        cc: bool = False,
    ) -> None:
        kind = f"supervision_{order.kind}{'_cc' if cc else ''}"
        enqueue(s, now=now, kind=kind, title=title, body=body, case_no=order.case_no,
                recipient_org=org, recipient_role=role, recipient_user=user,
                payload=payload)  # fmt: skip


def _due_key(order: SupervisionOrder) -> str:
    return f"order:{order.id}:{order.level}"


def order_view(o: SupervisionOrder) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": o.id, "kind": o.kind, "label": LABELS.get(o.kind, o.kind), "state": o.state,
        "case_no": o.case_no, "target_org": o.target_org, "title": o.title, "body": o.body,
        "trigger": o.trigger, "issued_at": iso(o.issued_at), "issued_by": o.issued_by,
        "issued_role": o.issued_role, "limit_days": o.limit_days, "due_at": iso(o.due_at),
        "level": o.level, "rung": RUNGS.get(o.level), "answer": o.answer,
        "answered_at": iso(o.answered_at), "answered_by": o.answered_by, "outcome": o.outcome,
        "parent_id": o.parent_id,
    }  # fmt: skip
