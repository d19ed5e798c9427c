"""Data the engine stores is JSON that both databases give back exactly, so its audit hash holds.

Whatever hands the engine data — a request body, a start form, a task's form, a message payload,
a script's result — passes one of two checks here:

``clean(value, where)``
    A Python value (already parsed) → the same value in its one stored form, or
    :class:`InputInvalid` naming the field path. Refused: NaN and ±Infinity (JSON has no such
    numbers; they were stored as ``null`` and the hash then disagreed), numbers beyond the 64-bit
    integer range (±9 223 372 036 854 775 807, floats included), lone UTF-16 surrogates and NUL
    characters in texts *and keys* (no encoder or column can store them), nesting deeper than
    :data:`MAX_DEPTH`, and anything that is not data (functions, modules, classes, objects).
    Normalised, so that PostgreSQL's ``jsonb`` gives the value back unchanged: ``-0.0`` becomes
    ``0.0``, and a whole float written with an exponent (``1e+16`` or more) becomes the integer
    it is; keys that are not text become text as JSON writes them.

``scan_json(raw)``
    Request bytes → the problems of the document, each with its path (``/data/parties/0/name``),
    found by a strict parse: NaN, Infinity and overflowing literals (``1e400``) are caught before
    they turn into floats, huge integer literals before they are converted.

Both are cheap: one walk over the value, which is copied only where something changed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from engine.errors import InputInvalid

MAX_INT: Final = 2**63 - 1
MIN_INT: Final = -(2**63)
MAX_DEPTH: Final = 64
#: a float at or beyond this is written with an exponent (Python's ``repr``)
_EXPONENT_FROM: Final = 1e16
_MAX_DIGITS: Final = 19  # len(str(MAX_INT))


@dataclass(frozen=True)
class DataProblem:
    """One refused value: where (a JSON pointer) and why."""

    path: str
    message: str


#: where a value is, as a chain of (parent, key) pairs built as the walk descends (cheap: no
#: copying); turned into segments only when something is refused
Trail = tuple[Any, Any] | None


def _segments(trail: Trail) -> tuple[str, ...]:
    out: list[str] = []
    while trail is not None:
        trail, key = trail
        out.append(str(key))
    return tuple(reversed(out))


class _Refused(Exception):
    def __init__(self, trail: Trail, message: str) -> None:
        super().__init__(message)
        self.path = _segments(trail)
        self.message = message


class _Literal:
    """A number literal the strict parser refused (kept as text to report its path)."""

    __slots__ = ("text", "why")

    def __init__(self, text: str, why: str) -> None:
        self.text = text
        self.why = why


def printable(text: str) -> str:
    """``text`` with lone surrogates and NUL shown as escapes (``\\ud800``, ``\\u0000``): safe
    to encode, store and echo."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\u0000") if "\x00" in text else text


def pointer(path: tuple[str, ...]) -> str:
    """A JSON pointer (RFC 6901) for a path, printable."""
    return "/" + "/".join(printable(p).replace("~", "~0").replace("/", "~1") for p in path)


def _text_problem(text: str, refused: re.Pattern[str] | None = None) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone UTF-16 surrogate (\\ud800–\\udfff) is not a character and cannot be stored"
    if "\x00" in text:
        return "text must not contain NUL characters (\\u0000)"
    if refused is not None:
        found = refused.search(text)
        if found is not None:
            return (
                f"the text {found.group(0)[:60]!r}… is how Python shows an object that is not data "
                "(a function, method, class, module or object): store data, not its representation"
            )
    return None


def _range_problem(number: float) -> str | None:
    if not MIN_INT <= number <= MAX_INT:
        return f"the number is beyond the 64-bit range (±{MAX_INT})"
    return None


def _number(value: float, path: Trail) -> float:
    if math.isnan(value) or math.isinf(value):
        raise _Refused(path, f"{value!r} is not a JSON number (NaN and Infinity cannot be stored)")
    problem = _range_problem(value)
    if problem is not None:
        raise _Refused(path, problem)
    if value == 0.0:
        return 0.0  # no negative zero: PostgreSQL gives 0.0 back
    if abs(value) >= _EXPONENT_FROM:
        return int(value)  # whole; jsonb gives it back as the integer it is
    return value


def _key(key: Any, path: Trail) -> str:
    if isinstance(key, str):
        problem = _text_problem(key)
        if problem is not None:
            raise _Refused((path, key), f"the key: {problem}")
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)  # as JSON writes a key that is not text
    raise _Refused(path, f"a key of type {type(key).__name__} is not text")


def _walk(
    value: Any,
    path: Trail,
    depth: int,
    refused: re.Pattern[str] | None = None,
    strict: bool = True,
) -> Any:
    kind = type(value)
    if kind is str:
        problem = _text_problem(value, refused)
        if problem is not None:
            raise _Refused(path, problem)
        return value
    if kind is bool or value is None:
        return value
    if kind is int:
        problem = _range_problem(value)
        if problem is not None:
            raise _Refused(path, problem)
        return value
    if kind is float:
        return _number(value, path)
    if depth >= MAX_DEPTH:
        raise _Refused(path, f"the data is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        out: dict[str, Any] | None = None
        for k, item in value.items():
            key = _key(k, path)
            new = _walk(item, (path, key), depth + 1, refused, strict)
            if out is None and (new is not item or key is not k):
                out = {}
                for k0, v0 in value.items():
                    if k0 is k:
                        break
                    out[k0] = v0
            if out is not None:
                out[key] = new
        return value if out is None else out
    if isinstance(value, list | tuple):
        items = [_walk(item, (path, i), depth + 1, refused, strict) for i, item in enumerate(value)]
        if kind is list and all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items
    if isinstance(value, _Literal):
        raise _Refused(path, value.why)
    if isinstance(value, str):  # subclasses (enums and the like): their plain form
        return _walk(str.__str__(value), path, depth, refused, strict)
    if isinstance(value, int):
        return _walk(int(value), path, depth)
    if isinstance(value, float):
        return _walk(float(value), path, depth)
    if not strict:
        return value  # a date, a duration…: the caller takes such values as they are
    what = type(value).__name__
    raise _Refused(path, f"a value of type {what} is not data (use text, numbers, lists, dicts)")


#: what Python prints for a value that is not data: ``<bound method …>``, ``<function …>``,
#: ``<class '…'>``, ``<module '…'>``, ``<… object at 0x…>`` (refused in a script's results)
OBJECT_TEXT: Final = re.compile(
    r"<(?:bound method|built-in (?:function|method)|function|class|module|method(?:-wrapper)?"
    r"|slot wrapper|wrapper_descriptor|generator object|coroutine object|code object"
    r"|frame|cell|property object|member|attribute) |<[\w.]+ object at 0x[0-9a-fA-F]+>"
)


def find_problem(value: Any, refused: re.Pattern[str] | None = None) -> DataProblem | None:
    """The first refused value of ``value``, if any (see the module's docstring); texts that
    ``refused`` finds something in are refused too."""
    return checked(value, refused)[1]


def checked(
    value: Any, refused: re.Pattern[str] | None = None, *, strict: bool = True
) -> tuple[Any, DataProblem | None]:
    """``value`` in its stored form and no problem, or ``None`` and the first problem, in one
    walk. Not ``strict``: values of other types (a timer expression's datetime) pass as they
    are, only the refusals of the module's docstring apply to the data around them."""
    try:
        return _walk(value, None, 0, refused, strict), None
    except _Refused as exc:
        return None, DataProblem(pointer(exc.path), exc.message)


def clean(value: Any, where: str = "data") -> Any:
    """``value`` in its stored form, or :class:`InputInvalid` naming ``where`` and the path."""
    try:
        return _walk(value, None, 0)
    except _Refused as exc:
        field = where + (pointer(exc.path) if exc.path else "")
        raise InputInvalid(f"{field}: {exc.message}", field=field) from None


def clean_mapping(value: Mapping[str, Any], where: str = "data") -> dict[str, Any]:
    cleaned = clean(dict(value), where)
    assert isinstance(cleaned, dict)
    return cleaned


# ---------------------------------------------------------------- raw JSON documents


def _parse_constant(text: str) -> _Literal:
    return _Literal(text, f"{text} is not a JSON number (NaN and Infinity cannot be stored)")


def _parse_float(text: str) -> float | _Literal:
    value = float(text)
    if math.isinf(value):
        return _Literal(text, f"the number {text[:40]} is too large for a 64-bit float")
    return value


def _parse_int(text: str) -> int | _Literal:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        return _Literal(text, f"the number is beyond the 64-bit range (±{MAX_INT})")
    return int(text)


def scan_json(raw: bytes | str) -> list[DataProblem]:
    """The problems of a JSON document (empty when it is fine or not JSON at all: a parse
    error is the caller's to report)."""
    try:
        doc = json.loads(raw, parse_constant=_parse_constant, parse_float=_parse_float,
                         parse_int=_parse_int)  # fmt: skip
    except RecursionError:
        return [DataProblem("/", f"the document is nested deeper than {MAX_DEPTH} levels")]
    except ValueError:
        return []
    problem = find_problem(doc)
    return [] if problem is None else [problem]


__all__ = [
    "MAX_DEPTH",
    "MAX_INT",
    "MIN_INT",
    "OBJECT_TEXT",
    "DataProblem",
    "checked",
    "clean",
    "clean_mapping",
    "find_problem",
    "pointer",
    "printable",
    "scan_json",
]
