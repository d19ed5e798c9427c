"""Read a YAML file keeping the line of every key, so that a refusal can name the line.

Used for the two files an operator or designer edits: the holiday table and the deadline policy.
Duplicate keys (which PyYAML would silently resolve to the last one) are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
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
        raise ValidationFailed([Problem(str(path), f"cannot read the file: {exc.strerror}")]) from None
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
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                problems.append(
                    Problem(doc.file, "a mapping key must be a scalar", line=key_node.start_mark.line + 1)
                )
                continue
            if key in result:
                problems.append(
                    Problem(
                        doc.file,
                        f"duplicate key {show_path(path + (key,))}",
                        line=key_node.start_mark.line + 1,
                    )
                )
                continue
            result[key] = _build(loader, value_node, path + (key,), doc, problems)
            # A key's line is where the key is written, not where its (block) value starts.
            doc.lines[path + (key,)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, path + (index,), doc, problems)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def show_path(path: Sequence[Any]) -> str:
    """``("steps", "dispute.sign", "red")`` → ``steps → dispute.sign → red``."""
    return " → ".join(str(part) for part in path) if path else "(top level)"
