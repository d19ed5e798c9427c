"""The error tree: every class carries a unique code, its HTTP status and whether a retry can help;
the API's answers are derived from the classes; the drawing in engine/errors.py is complete."""

from __future__ import annotations

import json

import pytest

import api.errors
import engine.errors
import engine.orgs
import engine.workdays
from api.errors import TITLES, problem_for
from engine.errors import BihuanError, Conflict, StaleVersion


def _tree() -> list[type[BihuanError]]:
    assert engine.orgs and engine.workdays  # their errors join the tree when imported
    found: list[type[BihuanError]] = []
    todo = [BihuanError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_codes_are_unique() -> None:
    own = [cls.__dict__["code"] for cls in _tree() if "code" in cls.__dict__]
    assert len(own) == len(set(own)), sorted(own)


def test_every_class_has_a_status_with_a_title() -> None:
    for cls in _tree():
        assert cls.status in TITLES, cls
        assert isinstance(cls.retryable, bool)
        if issubclass(cls, Conflict):
            assert cls.status == 409, cls


def test_the_drawing_names_every_class() -> None:
    drawn = (engine.errors.__doc__ or "") + (api.errors.__doc__ or "")
    missing = [cls.__name__ for cls in _tree() if cls.__name__ not in drawn]
    assert not missing, missing


@pytest.mark.parametrize("cls", [c for c in _tree() if c is not BihuanError])
def test_the_api_answers_with_the_class_status(cls: type[BihuanError]) -> None:
    exc = cls.__new__(cls)
    BihuanError.__init__(exc, "refused")
    exc.problems, exc.errors = [], []  # type: ignore[attr-defined]
    response = problem_for(exc, "/x")
    assert response.status_code == cls.status
    assert json.loads(bytes(response.body))["code"] == cls.code


def test_only_what_a_retry_can_mend_is_retryable() -> None:
    retryable = sorted(cls.__name__ for cls in _tree() if cls.retryable)
    assert retryable == [
        "CalendarDataMissing",
        "RequestInProgress",
        "StaleVersion",
        "StorageBusy",
        "StorageError",
    ]
    assert StaleVersion("changed").retryable
