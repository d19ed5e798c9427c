"""Read a YAML file keeping the line of every key, so that a refusal can name the line.

Used for the two files an operator or designer edits: the holiday table and the deadline policy.
Duplicate keys (which PyYAML would silently resolve to the last one) are refused.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import Problem, ValidationFailed

PathKey = tuple[Any, ...]


@dataclass
class YamlDoc:
    """Plain Python data (dicts, lists, scalars) plus the 1-based line of every node."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: Sequence[Any]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)


def read_yaml(path: Path) -> YamlDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(
            [Problem(str(path), f"cannot read the file: {exc.strerror}")]
        ) from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, file: str) -> YamlDoc:
    doc = YamlDoc(file=file, data=None)
    problems: list[Problem] = []
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.data = _build(loader, node, (), doc, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        problems.append(Problem(file, f"not valid YAML: {message}", line=line))
    except yaml.YAMLError as exc:
        problems.append(Problem(file, f"not valid YAML: {exc}"))
    finally:
        loader.dispose()
    if problems:
        raise ValidationFailed(problems)
    return doc


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: PathKey,
    doc: YamlDoc,
    problems: list[Problem],
) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            try:
                key = loader.construct_object(key_node, deep=True)
            except ValueError as exc:  # e.g. 2027-13-01: YAML's date resolver, then date() refuses
                problems.append(
                    Problem(
                        doc.file,
                        f"{key_node.value!r} is not a valid value: {exc}",
                        line=key_node.start_mark.line + 1,
                    )
                )
                continue
            try:
                hash(key)
            except TypeError:
                problems.append(
                    Problem(
                        doc.file,
                        "a mapping key must be a scalar",
                        line=key_node.start_mark.line + 1,
                    )
                )
                continue
            if key in result:
                problems.append(
                    Problem(
                        doc.file,
                        f"duplicate key {show_path((*path, key))}",
                        line=key_node.start_mark.line + 1,
                    )
                )
                continue
            result[key] = _build(loader, value_node, (*path, key), doc, problems)
            # A key's line is where the key is written, not where its (block) value starts.
            doc.lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, index), doc, problems)
            for index, item in enumerate(node.value)
        ]
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:
        problems.append(
            Problem(
                doc.file,
                f"{node.value!r} is not a valid value: {exc}",
                line=node.start_mark.line + 1,
            )
        )
        return None


def show_path(path: Sequence[Any]) -> str:
    """``("steps", "dispute.sign", "red")`` → ``steps → dispute.sign → red``."""
    return " → ".join(str(part) for part in path) if path else "(top level)"


class Checker:
    """Collects problems while a YAML document is turned into typed settings."""

    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def problem(self, path: Sequence[Any], message: str) -> None:
        where = show_path(path)
        self.problems.append(
            Problem(self.doc.file, f"{where}: {message}", line=self.doc.line(path))
        )

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)

    def mapping(
        self,
        path: Sequence[Any],
        value: Any,
        allowed: Collection[str] | None = None,
        *,
        required: Collection[str] = (),
    ) -> dict[Any, Any] | None:
        """``value`` when it is a mapping; unknown and missing keys are reported."""
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {_kind(value)}")
            return None
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    self.problem(
                        (*path, key), f"unknown key; expected one of: {', '.join(sorted(allowed))}"
                    )
        for key in required:
            if key not in value:
                self.problem(path, f"'{key}' is required")
        return value

    def choice(self, path: Sequence[Any], value: Any, choices: Sequence[str], default: str) -> str:
        if value is None:
            return default
        if value not in choices:
            self.problem(path, f"{value!r} is not one of: {', '.join(choices)}")
            return default
        return str(value)

    def integer(self, path: Sequence[Any], value: Any, default: int, minimum: int = 0) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(path, f"expected a whole number ≥ {minimum}, got {value!r}")
            return default
        return value

    def number(self, path: Sequence[Any], value: Any, default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.problem(path, f"expected a positive number, got {value!r}")
            return default
        return float(value)

    def boolean(self, path: Sequence[Any], value: Any, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, f"expected true or false, got {value!r}")
            return default
        return value


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"{value!r}"
