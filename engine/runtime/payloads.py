"""What a start or a message carries is checked against the form its BPMN element names, like a
task's submission: the report form on the start event, the 延期 / 挂账 / reopening request forms on
the catching events. A bad payload is refused naming the field; nothing runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine.runtime.definitions import DefinitionCache
from engine.runtime.references import check_case_references
from engine.storage.models import Definition


def validate_start(
    cache: DefinitionCache, s: Session, definition: Definition, data: Mapping[str, Any]
) -> None:
    """A start event with a form (the report form) validates the start data like a task."""
    for element in (definition.elements or {}).values():
        if (
            element.get("type") != "startEvent"
            or element.get("process") != definition.process_id
            or not element.get("top_level")
        ):
            continue
        form = (element.get("properties") or {}).get("formJsonSchemaFilename")
        if form:
            validator = cache.form(s, definition.bundle_id, form)
            if validator is not None:
                validator.validate(dict(data))


def validate_message(
    cache: DefinitionCache,
    s: Session,
    definition: Definition,
    name: str,
    payload: Mapping[str, Any],
) -> None:
    """A message whose catching event names a form (延期, 挂账, reopening and transfer requests)
    has its payload validated like a task's form: a bad request is refused, naming the field."""
    for element in (definition.elements or {}).values():
        form = (element.get("properties") or {}).get("formJsonSchemaFilename")
        if element.get("message") == name and form:
            validator = cache.form(s, definition.bundle_id, form)
            if validator is not None:
                validator.validate(dict(payload))
                check_case_references(s, form, validator.schema, payload, None)
            return
