"""The engine's error tree. Every error carries a stable ``code``; the API maps codes to HTTP in
one place (``api/errors.py``). Messages are written for the person who caused them.

    BihuanError                      code
    ├── ValidationFailed             invalid_bundle      a bundle with every problem listed
    ├── FormInvalid                  form_invalid        form data against the task's JSON Schema
    ├── InputInvalid                 invalid_input       any other bad argument
    ├── NotFound                     not_found
    ├── PermissionDenied             forbidden
    ├── Conflict                     conflict
    │   ├── StaleVersion             stale_version       another command changed the instance first
    │   ├── TaskAlreadyClaimed       already_claimed
    │   ├── TaskNotOpen              task_not_open       completed, cancelled or withdrawn
    │   ├── DeadlinePassed           deadline_passed     an interrupting timer took the task away
    │   ├── InstanceNotActive        instance_not_active suspended, cancelled or completed
    │   ├── NoMessageWaiting         no_message_waiting
    │   └── AuditChainBroken         audit_chain_broken  a purge met a chain that does not verify
    ├── ScriptError                  script_error        a BPMN expression failed at run time
    ├── CalendarDataMissing          calendar_data_missing
    └── StorageError                 storage_error       the database refused (never a client fault)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BihuanError(Exception):
    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


@dataclass(frozen=True)
class Problem:
    """One problem in a bundle: where it is and what is wrong."""

    file: str
    message: str
    line: int | None = None
    element_id: str | None = None
    severity: str = "error"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.element_id:
            where += f" [{self.element_id}]"
        return f"{where}: {self.message}"


class ValidationFailed(BihuanError):
    code = "invalid_bundle"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the bundle has {len(problems)} problem(s):\n{lines}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": f"the bundle has {len(self.problems)} problem(s)",
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str


class FormInvalid(BihuanError):
    code = "form_invalid"

    def __init__(self, form: str, errors: list[FieldError]) -> None:
        self.errors = errors
        summary = "; ".join(f"{e.path}: {e.message}" for e in errors)
        super().__init__(f"表单数据无效 (form {form} is invalid): {summary}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "errors": [{"path": e.path, "message": e.message} for e in self.errors],
        }


class InputInvalid(BihuanError):
    code = "invalid_input"


class AuthenticationFailed(BihuanError):
    """No valid credentials (maps to 401)."""

    code = "unauthenticated"


class NotFound(BihuanError):
    code = "not_found"


class PermissionDenied(BihuanError):
    code = "forbidden"


class Conflict(BihuanError):
    code = "conflict"


class StaleVersion(Conflict):
    code = "stale_version"


class TaskAlreadyClaimed(Conflict):
    code = "already_claimed"


class TaskNotOpen(Conflict):
    code = "task_not_open"


class DeadlinePassed(Conflict):
    code = "deadline_passed"


class InstanceNotActive(Conflict):
    code = "instance_not_active"


class NoMessageWaiting(Conflict):
    code = "no_message_waiting"


class AuditChainBroken(Conflict):
    code = "audit_chain_broken"


class DuplicateRequest(Conflict):
    code = "duplicate_request"


class ScriptError(BihuanError):
    code = "script_error"


class CalendarDataMissing(BihuanError):
    code = "calendar_data_missing"


class StorageError(BihuanError):
    code = "storage_error"
