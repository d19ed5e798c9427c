"""Form fields that name another case or an organisation unit: the named one must exist.

A form marks such a field with the annotation ``"x-bihuan-case": "open"`` in its JSON Schema
(JSON Schema ignores unknown keywords, so the form stays valid for any client). The 合并 of a
screening (``master_case_no``) uses it: a duplicate can only join a master case that is open.
``"x-bihuan-unit": "exists"`` marks a unit id that must name a unit of the organisation tree
(the receiver of a 分流转办, ``transfer_to``), so a typo is refused instead of falling back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import FieldError, FormInvalid
from engine.storage.models import Case, OrgUnit

ANNOTATION = "x-bihuan-case"
UNIT_ANNOTATION = "x-bihuan-unit"


def check_case_references(
    session: Session,
    form: str,
    schema: Mapping[str, Any],
    data: Mapping[str, Any],
    own_case_no: str | None,
) -> None:
    """Refuse (``FormInvalid``, naming the field) a reference to a missing, closed or own case,
    or to a unit that does not exist."""
    errors: list[FieldError] = []
    for name, prop in (schema.get("properties") or {}).items():
        value = data.get(name)
        if not isinstance(prop, Mapping) or not isinstance(value, str) or not value:
            continue
        path = f"/{name}"
        if prop.get(UNIT_ANNOTATION) == "exists":
            if session.get(OrgUnit, value) is None:
                errors.append(
                    FieldError(path, f"单位 {value} 不存在 (no organisation unit {value})")
                )
            continue
        if prop.get(ANNOTATION) != "open":
            continue
        if value == own_case_no:
            errors.append(FieldError(path, f"不能指向本案件 {value} (a case cannot name itself)"))
            continue
        found = session.execute(
            select(Case.status, Case.closed_at).where(Case.case_no == value)
        ).first()
        if found is None:
            errors.append(FieldError(path, f"案件 {value} 不存在 (no case {value})"))
        elif found.closed_at is not None:
            errors.append(
                FieldError(
                    path,
                    f"案件 {value} 已{found.status}，不能作为主案件 "
                    f"(case {value} is not open: {found.status})",
                )
            )
    if errors:
        raise FormInvalid(form, errors)
