"""Server-side validation of form data against a task's JSON Schema (draft 2020-12).

Errors name the field by JSON Pointer (``/parties/0/name``) and say what is wrong in Chinese
first, for the caseworker, with an English gloss. A field that belongs to another branch of the
form (``invalid_reason`` on a registered case) is refused where the form says so: the branch's
``if`` entry lists it under ``else`` as ``{"not": {}}`` (docs/api.md, "Forms are the contract").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine.errors import FieldError, FormInvalid

_MESSAGES = {
    "required": "必填 (required)",
    "type": "类型不正确 (wrong type: expected {validator_value})",
    "enum": "取值不在允许范围内 (not an allowed value)",
    "const": "取值不在允许范围内 (not an allowed value)",
    "oneOf": "取值不在允许范围内 (not an allowed value)",
    "anyOf": "取值不在允许范围内 (not an allowed value)",
    "additionalProperties": "不允许的字段 (unknown field)",
    "minLength": "内容过短 (at least {validator_value} characters)",
    "maxLength": "内容过长 (at most {validator_value} characters)",
    "minimum": "数值过小 (at least {validator_value})",
    "maximum": "数值过大 (at most {validator_value})",
    "minItems": "至少需要 {validator_value} 项 (at least {validator_value} items)",
    "maxItems": "最多 {validator_value} 项 (at most {validator_value} items)",
    "pattern": "格式不正确 (does not match the pattern)",
    "format": "格式不正确 (not a valid {validator_value})",
}


def _pointer(parts: list[Any]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


#: A field another branch of the form owns (``"not": {}`` under the branch's ``else``): the
#: choice made elsewhere in the form means it does not apply, so the server refuses it.
NOT_APPLICABLE = "不适用于当前所选，请勿填写 (does not apply to the choice made: leave it out)"


def _errors(error: ValidationError) -> list[FieldError]:
    if error.validator in ("if", "allOf", "then") and error.context:
        return [e for sub in error.context for e in _errors(sub)]
    path = list(error.absolute_path)
    if error.validator == "not" and error.validator_value == {}:
        return [FieldError(_pointer(path), NOT_APPLICABLE)]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return [FieldError(_pointer([*path, missing]), _MESSAGES["required"])]
    if error.validator == "additionalProperties":
        extras = [
            k
            for k in (error.instance if isinstance(error.instance, dict) else {})
            if k not in (error.schema.get("properties") or {})
        ]
        return [FieldError(_pointer([*path, k]), _MESSAGES["additionalProperties"]) for k in extras]
    template = _MESSAGES.get(str(error.validator))
    if template is None:
        return [FieldError(_pointer(path), error.message)]
    return [FieldError(_pointer(path), template.format(validator_value=error.validator_value))]


class FormValidator:
    """A compiled schema; cheap to reuse."""

    def __init__(self, name: str, schema: Mapping[str, Any]) -> None:
        self.name = name
        self.schema = schema
        self._validator = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )

    def validate(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise FormInvalid(
                self.name, [FieldError("/", "表单数据必须是对象 (must be an object)")]
            )
        found: list[FieldError] = []
        for error in sorted(self._validator.iter_errors(data), key=lambda e: list(e.path)):
            found.extend(_errors(error))
        for key in data:
            if key.startswith("_"):
                found.append(FieldError(_pointer([key]), "保留字段 (reserved field name)"))
        if found:
            unique = list(dict.fromkeys(found))
            raise FormInvalid(self.name, unique)
