"""Who sees what, in SQL: org-path prefixes, the caller's own tasks, the cases in a
jurisdiction; counting and paging."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, or_, select
from sqlalchemy.orm import Session

from engine.access import Principal
from engine.reads.views import OPEN
from engine.storage.models import Case, HumanTask


def like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def prefix_clause(column: Any, path: str, dialect: str) -> ColumnElement[bool]:
    """``column`` starts with ``path``, in a form the dialect's btree index serves.

    PostgreSQL: ``LIKE 'path%'`` (the ``varchar_pattern_ops`` indexes of migration 0003).
    SQLite: the range ``path <= column < path'`` (``path'``: last character + 1) — SQLite's
    ``LIKE`` is case-insensitive and uses no index; the range is exact under BINARY collation.
    """
    if dialect == "sqlite" and path:
        return and_(column >= path, column < path[:-1] + chr(ord(path[-1]) + 1))
    like: ColumnElement[bool] = column.like(like_prefix(path), escape="\\")
    return like


def under_paths(column: Any, paths: list[str], dialect: str = "") -> ColumnElement[bool]:
    if not paths:
        return false()
    return or_(*(prefix_clause(column, p, dialect) for p in paths))


# ---------------------------------------------------------------- scoping


def prefix_param(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """:func:`_prefix` with the path as parameters (see :func:`_prefix_values`)."""
    if dialect == "sqlite":
        return and_(column >= bindparam(f"{name}_lo"), column < bindparam(f"{name}_hi"))
    like: ColumnElement[bool] = column.like(bindparam(f"{name}_like"), escape="\\")
    return like


def prefix_values(name: str, path: str, dialect: str) -> dict[str, str]:
    if dialect == "sqlite":
        return {f"{name}_lo": path, f"{name}_hi": path[:-1] + chr(ord(path[-1]) + 1)}
    return {f"{name}_like": like_prefix(path)}


def mine_clause(principal: Principal) -> ColumnElement[bool]:
    """Tasks that are the caller's: assigned, completed by them, or open for their unit+role."""
    held = [
        and_(
            HumanTask.candidate_org == org,
            or_(HumanTask.candidate_role == role, HumanTask.candidate_role.is_(None)),
        )
        for org, role in principal.candidacy()
    ]
    return or_(
        HumanTask.assignee == principal.user_id,
        HumanTask.completed_by == principal.user_id,
        and_(HumanTask.state.in_(OPEN), or_(*held) if held else false()),
    )


def visible_cases(principal: Principal, dialect: str = "") -> ColumnElement[bool]:
    worked = select(HumanTask.case_no).where(mine_clause(principal))
    return or_(under_paths(Case.org_path, principal.paths(), dialect), Case.case_no.in_(worked))


#: Lists count their matches up to this many; past it ``Page.total`` is ``COUNT_CAP + 1``,
#: meaning "more than COUNT_CAP" (a UI shows "1,000+"). Below it the total is exact.
COUNT_CAP = 1000


def capped_count(s: Session, query: Select[Any], cap: int | None) -> int:
    inner = query.order_by(None)
    if cap is not None:
        inner = inner.limit(cap + 1)
    return int(s.scalar(select(func.count()).select_from(inner.subquery())) or 0)


def page_of(
    s: Session, query: Select[Any], limit: int, offset: int, cap: int | None = None
) -> tuple[list[Any], int]:
    total = capped_count(s, query, cap)
    rows = list(s.execute(query.limit(limit).offset(offset)).all()) if total > offset else []
    return rows, total
