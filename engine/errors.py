"""The engine's error tree. Every error carries a stable ``code``, the HTTP ``status`` the API
answers with, and whether a ``retryable`` retry of the same request can help; the API derives its
mapping from the classes (``api/errors.py``). Messages are written for the person who caused them.

    BihuanError                   code                  status retry
    ├── ValidationFailed          invalid_bundle        422        every problem of a bundle
    ├── FormInvalid               form_invalid          422        form data against its schema
    ├── InputInvalid              invalid_input         422        any other bad argument
    │   ├── OrgConfigError        (its parent's)        422        engine/orgs/config.py
    │   ├── LaneResolutionError   (its parent's)        422        engine/orgs/lanes.py
    │   └── MessageConfigError    (its parent's)        422        engine/access/messages.py
    ├── AuthenticationFailed      unauthenticated       401        no valid credentials
    ├── NotFound                  not_found             404
    │   └── UnknownOrg            (its parent's)        404        engine/orgs/tree.py
    ├── PermissionDenied          forbidden             403
    ├── Conflict                  conflict              409
    │   ├── StaleVersion          stale_version         409   yes  another command came first
    │   ├── TaskAlreadyClaimed    already_claimed       409
    │   ├── TaskNotOpen           task_not_open         409        completed, cancelled, withdrawn
    │   ├── DeadlinePassed        deadline_passed       409        a timer took the task away
    │   ├── InstanceNotActive     instance_not_active   409        suspended, cancelled, completed
    │   ├── NoMessageWaiting      no_message_waiting    409
    │   ├── AuditChainBroken      audit_chain_broken    409        a purge met a broken chain
    │   ├── ExtensionRefused      (its parent's)        409        engine/workdays/policy.py
    │   └── StorageBusy           busy                  409   yes  a lock wait timed out
    ├── ScriptError               script_error          422        an expression failed at run time
    ├── BudgetExceeded            budget_exceeded       422        a command over its work budget
    ├── CommandTimedOut           command_timeout       503        a command over its wall time
    ├── CalendarDataMissing       calendar_data_missing 503   yes  a year's holidays not loaded
    └── StorageError              storage_error         503   yes  the database is unavailable

The API adds the errors that exist only at the HTTP edge (``api/errors.py``): MalformedRequest
(400), RequestInvalid (422), PayloadTooLarge (413), UnsupportedMediaType (415),
IdempotencyKeyReused (422) and RequestInProgress (a Conflict, 409, retryable).
``tests/engine/test_errors.py`` checks that every code is unique and this drawing is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


class BihuanError(Exception):
    code: ClassVar[str] = "error"
    #: the HTTP status the API answers with
    status: ClassVar[int] = 400
    #: whether the same request, sent again later, may succeed
    retryable: ClassVar[bool] = False
    #: seconds a client should wait before that retry (the API's ``Retry-After``), if known
    retry_after: ClassVar[int | None] = None

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
    status = 422

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
    status = 422

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
    status = 422


class AuthenticationFailed(BihuanError):
    """No valid credentials."""

    code = "unauthenticated"
    status = 401


class NotFound(BihuanError):
    code = "not_found"
    status = 404


class PermissionDenied(BihuanError):
    code = "forbidden"
    status = 403


class Conflict(BihuanError):
    code = "conflict"
    status = 409


class StaleVersion(Conflict):
    code = "stale_version"
    status = 409
    retryable = True


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


class ScriptError(BihuanError):
    code = "script_error"
    status = 422


class BudgetExceeded(BihuanError):
    """A command asked the engine for more work than the model's budget allows (engine steps
    without a wait, loop iterations, multi-instance instances); nothing was committed. The
    details name the element (``element_id``, ``element_name``), the ``limit`` and its value."""

    code = "budget_exceeded"
    status = 422


class CommandTimedOut(BihuanError):
    """A command ran longer than its wall-time budget and was stopped; nothing was committed."""

    code = "command_timeout"
    status = 503


class CalendarDataMissing(BihuanError):
    code = "calendar_data_missing"
    status = 503
    retryable = True


class StorageError(BihuanError):
    code = "storage_error"
    status = 503
    retryable = True
    retry_after = 5


class StorageBusy(Conflict):
    """Another transaction holds a row this one needs (PostgreSQL's ``lock_timeout``)."""

    code = "busy"
    retryable = True
    retry_after = 1
