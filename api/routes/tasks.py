"""Human tasks: inbox, detail with form, claim / unclaim / assign / complete / comment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api import responses
from api.deps import JSON, PREFIX, CallerDep, EngineDep, NowDep
from api.schemas import (
    AssignIn,
    CommentIn,
    CommentOut,
    CompleteIn,
    TaskDetailOut,
    TaskOut,
    TaskPage,
)
from engine import access, reads
from engine.runtime import Engine

router = APIRouter(prefix=PREFIX, tags=["tasks"])


def _out(engine: Engine, task_id: str) -> Response:
    """The task as stored after the command."""
    with engine.db.session() as s:
        view = reads.task_view(s, task_id, engine.clock.now())
        return responses.json(TaskOut.model_validate(view))


@router.get("/tasks", response_model=TaskPage)
def inbox(
    engine: EngineDep,
    caller: CallerDep,
    now: NowDep,
    scope: Literal["mine", "candidate", "jurisdiction"] = "candidate",
    sort: Literal["due", "priority", "created"] = "due",
    state: Literal["open", "claimed", "completed", "cancelled"] | None = None,
    case_no: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    severity: Annotated[
        str | None, Query(min_length=1, max_length=16, description="the case's risk level")
    ] = None,
    tier: Annotated[
        str | None, Query(min_length=1, max_length=16, description="the case's tier")
    ] = None,
    overdue: Annotated[bool, Query(description="only tasks past their due time")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """``mine``: claimed by or assigned to me; ``candidate``: open tasks whose unit and role I
    hold; ``jurisdiction``: tasks of cases in my units' subtrees (centre staff, auditors).
    ``severity``, ``tier`` (of the task's case) and ``overdue`` narrow the list."""
    case_filter = reads.CaseFilter(severity, tier, now if overdue else None)
    with engine.db.session() as s:
        page = reads.inbox(s, caller.principal(s), scope=scope, now=now, sort=sort,
                             case_no=case_no, state=state, limit=limit, offset=offset,
                             case_filter=case_filter)  # fmt: skip
    return responses.json(TaskPage.model_validate(page))


@router.get("/tasks/{task_id}", response_model=TaskDetailOut)
def task_detail(task_id: str, engine: EngineDep, caller: CallerDep, now: NowDep) -> TaskDetailOut:
    """The task, its form (JSON Schema), UI schema, the current data and the comments."""
    with engine.db.session() as s:
        task, _ = access.visible_task(s, caller.principal(s), task_id)
        return TaskDetailOut.model_validate(reads.task_detail(s, task, now))


@router.post("/tasks/{task_id}/claim", response_model=TaskOut)
def claim(task_id: str, engine: EngineDep, caller: CallerDep) -> Response:
    """领取: for a holder of the task's candidate unit and role; 409 if someone was faster."""
    with engine.db.session() as s:
        actor, case = access.claim_check(s, caller.principal(s), task_id)
    # the claimed row as the command committed it; a claim does not change the case's title
    view = reads.TaskView.of(engine.claim(task_id, actor), case.title, engine.clock.now(), case)
    return responses.json(TaskOut.model_validate(view))


@router.post("/tasks/{task_id}/unclaim", response_model=TaskOut)
def unclaim(task_id: str, engine: EngineDep, caller: CallerDep) -> Response:
    """退回: the assignee gives the task back (centre staff may take it back from anyone)."""
    with engine.db.session() as s:
        actor, force = access.can_unclaim(s, caller.principal(s), task_id)
    engine.unclaim(task_id, actor, force=force)
    return _out(engine, task_id)


@router.post("/tasks/{task_id}/assign", response_model=TaskOut, dependencies=[JSON])
def assign(task_id: str, body: AssignIn, engine: EngineDep, caller: CallerDep) -> Response:
    """转派 with a reason, to another holder of the task's unit and role."""
    with engine.db.session() as s:
        actor = access.can_assign(s, caller.principal(s), task_id, body.assignee)
    engine.assign(task_id, body.assignee, body.reason, actor)
    return _out(engine, task_id)


@router.post("/tasks/{task_id}/complete", response_model=TaskOut, dependencies=[JSON])
def complete(task_id: str, body: CompleteIn, engine: EngineDep, caller: CallerDep) -> Response:
    """办结 the task with its form data (validated against the form on the server)."""
    with engine.db.session() as s:
        _, actor = access.can_work_on(s, caller.principal(s), task_id)
    engine.complete(task_id, body.data, actor, expected_version=body.expected_version)
    return _out(engine, task_id)


@router.post(
    "/tasks/{task_id}/comments", response_model=CommentOut, status_code=201, dependencies=[JSON]
)
def comment(task_id: str, body: CommentIn, engine: EngineDep, caller: CallerDep) -> CommentOut:
    """Add a comment to the task (kept in the audit record too)."""
    with engine.db.session() as s:
        actor = access.can_comment(s, caller.principal(s), task_id)
    row = engine.comment(task_id, body.text, actor)
    return CommentOut.model_validate(row)
