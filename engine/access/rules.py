"""The permission rules: visibility before permission (not found, then forbidden)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.access.messages import MessagePolicy
from engine.access.principal import Grant, Principal, load_principal
from engine.access.roles import ADMINS, AUDIT_READERS, CENTRE_STAFF, DESIGNERS, OPERATORS, REPORTERS
from engine.audit import Actor
from engine.errors import InputInvalid, NotFound, PermissionDenied
from engine.storage.models import Case, HumanTask, OrgUnit
from engine.vocabulary import OPEN_TASK_STATES

# ---------------------------------------------------------------- rules: definitions, users


def require(principal: Principal, roles: Iterable[str], doing: str) -> None:
    if not principal.has_any(roles):
        raise PermissionDenied(f"无权{doing} (you may not {doing})")


def can_deploy(principal: Principal) -> None:
    require(principal, DESIGNERS, "deploy process definitions")


def can_manage_users(principal: Principal) -> None:
    require(principal, ADMINS, "manage users")


# ---------------------------------------------------------------- rules: audit and KPIs


def audit_scope(s: Session, principal: Principal, org: str | None) -> str:
    """The org path an audit search or KPI report may cover: ``org`` (a unit id) if it lies in
    the caller's audit jurisdiction, or the caller's own when they have exactly one."""
    require(principal, AUDIT_READERS, "read the audit record")
    roots = principal.paths(AUDIT_READERS)
    if org is None:
        if len(roots) != 1:
            raise InputInvalid("请指定单位 (name the unit: org=...)", field="org")
        return roots[0]
    unit = s.get(OrgUnit, org)
    if unit is None or principal.covers(unit.path, AUDIT_READERS) is None:
        raise NotFound(f"没有单位 {org} (no unit {org} in your jurisdiction)")
    return unit.path


# ---------------------------------------------------------------- rules: cases


def _worked_on(s: Session, principal: Principal, case_no: str) -> bool:
    """Whether the user holds or held a task of the case (departments outside the subtree)."""
    for task in s.scalars(select(HumanTask).where(HumanTask.case_no == case_no)):
        if task_is_mine(principal, task):
            return True
    return False


def visible_case(s: Session, principal: Principal, case_no: str) -> Case:
    """The case if the caller may read it; otherwise *not found*, whether it exists or not."""
    case = s.get(Case, case_no)
    if case is None or not (
        principal.covers(case.org_path) is not None or _worked_on(s, principal, case_no)
    ):
        raise NotFound(f"没有案件 {case_no} (no case {case_no})")
    return case


def can_control_case(s: Session, principal: Principal, case_no: str) -> tuple[Case, Actor]:
    """Suspend, resume, cancel: 综治中心 staff whose jurisdiction holds the case."""
    case = visible_case(s, principal, case_no)
    grant = principal.covers(case.org_path, CENTRE_STAFF)
    if grant is None:
        raise PermissionDenied("只有综治中心工作人员可以挂起、恢复或撤销案件 (centre staff only)")
    return case, principal.actor(grant)


def can_report(s: Session, principal: Principal, grid_code: str | None) -> tuple[str, Actor]:
    """Report a matter: in a unit of one's own jurisdiction (one's own unit by default)."""
    require(principal, REPORTERS, "report a matter")
    if grid_code is None:
        grant = next(g for g in principal.grants if g.role in REPORTERS)
        return grant.org_id, principal.actor(grant)
    unit = s.get(OrgUnit, grid_code)
    found = principal.covers(unit.path, REPORTERS) if unit is not None else None
    if found is None:
        raise InputInvalid(
            f"网格 {grid_code} 不在您的辖区内 (unit {grid_code} is not in your jurisdiction)",
            field="grid_code",
        )
    return grid_code, principal.actor(found)


def can_send_message(
    s: Session, principal: Principal, correlation_key: str, name: str, policy: MessagePolicy
) -> Actor:
    """Send ``name`` to a case: a message the policy gives to clients (engine-only and unlisted
    messages are 403 whatever the case), to a visible case (else 404), by a role the policy
    lists for it, held over the case (403)."""
    policy.senders_of(name)
    case = visible_case(s, principal, correlation_key)
    return principal.actor(policy.sender_grant(principal, name, case.org_path))


# ---------------------------------------------------------------- rules: tasks


def holds_candidacy(principal: Principal, task: HumanTask, case_path: str | None) -> Grant | None:
    """The grant by which the user is a candidate for the task, if any."""
    for g in principal.grants:
        if g.role not in OPERATORS:
            continue
        if task.candidate_role is not None and g.role != task.candidate_role:
            continue
        if task.candidate_org is not None:
            if g.org_id == task.candidate_org:
                return g
        elif case_path is not None and case_path.startswith(g.org_path):
            return g
    return None


def task_is_mine(principal: Principal, task: HumanTask) -> bool:
    if principal.user_id in (task.assignee, task.completed_by):
        return True
    if task.state not in OPEN_TASK_STATES or task.candidate_org is None:
        return False
    return any(
        g.org_id == task.candidate_org
        and g.role in OPERATORS
        and (task.candidate_role is None or g.role == task.candidate_role)
        for g in principal.grants
    )


#: The task and its case in one round trip (the id is a parameter).
_TASK_AND_CASE = (
    select(HumanTask, Case)
    .join(Case, Case.case_no == HumanTask.case_no)
    .where(HumanTask.id == bindparam("task_id"))
)


def visible_task(s: Session, principal: Principal, task_id: str) -> tuple[HumanTask, Case]:
    """The task if the caller may read it: its case is in their jurisdiction or it is theirs."""
    row = s.execute(_TASK_AND_CASE, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(f"没有任务 {task_id} (no task {task_id})")
    task, case = row._tuple()
    if not (principal.covers(case.org_path) is not None or task_is_mine(principal, task)):
        raise NotFound(f"没有任务 {task_id} (no task {task_id})")
    return task, case


def can_claim(s: Session, principal: Principal, task_id: str) -> Actor:
    return claim_check(s, principal, task_id)[0]


def claim_check(s: Session, principal: Principal, task_id: str) -> tuple[Actor, Case]:
    """:func:`can_claim`, with the task's case as read for the check."""
    task, case = visible_task(s, principal, task_id)
    grant = holds_candidacy(principal, task, case.org_path)
    if grant is None:
        raise PermissionDenied(
            "您不是该任务的候选办理人 (you do not hold the task's candidate role and unit)"
        )
    return principal.actor(grant), case


def _acting_grant(principal: Principal, task: HumanTask, case: Case) -> Grant | None:
    return holds_candidacy(principal, task, case.org_path) or principal.covers(
        case.org_path, OPERATORS
    )


def can_work_on(s: Session, principal: Principal, task_id: str) -> tuple[HumanTask, Actor]:
    """Complete (the engine checks that the caller is the assignee)."""
    task, case = visible_task(s, principal, task_id)
    grant = _acting_grant(principal, task, case)
    if grant is None and task.assignee != principal.user_id:
        raise PermissionDenied("只读权限 (read-only access)")
    return task, principal.actor(grant)


def can_unclaim(s: Session, principal: Principal, task_id: str) -> tuple[Actor, bool]:
    """The assignee gives a task back; centre staff may take it back from anyone (force)."""
    task, case = visible_task(s, principal, task_id)
    if task.assignee in (principal.user_id, None):  # unclaimed: the engine answers "not claimed"
        return principal.actor(_acting_grant(principal, task, case)), False
    staff = principal.covers(case.org_path, CENTRE_STAFF)
    if staff is None:
        raise PermissionDenied("只能退回自己领取的任务 (only the assignee can unclaim)")
    return principal.actor(staff), True


def can_comment(s: Session, principal: Principal, task_id: str) -> Actor:
    task, case = visible_task(s, principal, task_id)
    grant = _acting_grant(principal, task, case)
    if grant is None:
        raise PermissionDenied("只读权限，不能评论 (read-only access: you may not comment)")
    return principal.actor(grant)


def can_attach(
    s: Session, principal: Principal, case_no: str, task_id: str | None
) -> tuple[Case, Actor]:
    """Attach evidence: to a task's submission, its assignee while the task is open; to the case,
    anyone who acts on cases in its jurisdiction or works on it (auditors only read)."""
    if task_id is not None:
        task, case = visible_task(s, principal, task_id)
        if task.case_no != case_no:
            raise NotFound(f"没有任务 {task_id} (no task {task_id} in case {case_no})")
        if task.state not in OPEN_TASK_STATES or task.assignee != principal.user_id:
            raise PermissionDenied(
                "只有任务的办理人可以在办理中上传材料 (only the task's assignee, while it is open)"
            )
        grant = _acting_grant(principal, task, case)
        return case, principal.actor(grant)
    case = visible_case(s, principal, case_no)
    grant = principal.covers(case.org_path, OPERATORS)
    if grant is None and not _worked_on(s, principal, case_no):
        raise PermissionDenied(
            "只读权限，不能上传材料 (read-only access: you may not attach files)"
        )
    return case, principal.actor(grant)


def can_assign(s: Session, principal: Principal, task_id: str, assignee: str) -> Actor:
    """Centre staff assign in their jurisdiction; the assignee may delegate to another candidate.

    The new assignee must be an active user who holds the task's candidate role and unit.
    """
    task, case = visible_task(s, principal, task_id)
    staff = principal.covers(case.org_path, CENTRE_STAFF)
    if staff is None and task.assignee != principal.user_id:
        raise PermissionDenied(
            "只有综治中心工作人员或当前办理人可以转派 (centre staff or the assignee only)"
        )
    target = load_principal(s, assignee)
    if target is None:
        raise InputInvalid(f"没有用户 {assignee} (no active user {assignee})", field="assignee")
    if (task.candidate_org or task.candidate_role) and holds_candidacy(
        target, task, case.org_path
    ) is None:
        raise InputInvalid(
            f"{assignee} 不是该任务的候选办理人 "
            f"({assignee} does not hold the task's role and unit)",
            field="assignee",
        )
    return principal.actor(staff or _acting_grant(principal, task, case))
