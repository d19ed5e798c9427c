"""Who may send which message through the API (``POST /api/v1/messages``).

A message wakes a waiting case and moves it on, so sending one is an action like completing a
task: each message a client may send is listed in the message file (``processes/messages.yaml``,
``Settings.messages_file``) with the roles that may send it, in the case's jurisdiction. A message
not listed is refused (deny by default). The messages the engine sends itself (the supervision's
``tier_timeout``: a tier's time is up) are never deliverable by a client, and a file that lists
one is refused when it is loaded.

    version: 1
    messages:
      extension_request:             # the message name, as in the BPMN <message name="…">
        roles: [handling_unit, grid_worker]
        description: 申请延期 (optional)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.access.principal import Grant, Principal
from engine.access.roles import OPERATORS
from engine.errors import InputInvalid, PermissionDenied


class MessageConfigError(InputInvalid):
    """A message file that cannot be used: every problem, each with its key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{lines}", source=source,
                         problems=problems)  # fmt: skip


@dataclass(frozen=True)
class MessagePolicy:
    """Message name → the roles that may send it; and the names only the engine sends."""

    senders: Mapping[str, frozenset[str]] = field(default_factory=dict)
    engine_only: frozenset[str] = frozenset()

    def senders_of(self, name: str) -> frozenset[str]:
        """The roles that may send ``name``; :class:`PermissionDenied` if no client may."""
        if name in self.engine_only:
            raise PermissionDenied(
                f"消息 {name!r} 只能由系统发送 (the message {name!r} is sent only by the engine; "
                "it cannot be delivered through the API)",
                message_name=name,
            )
        roles = self.senders.get(name)
        if roles is None:
            raise PermissionDenied(
                f"消息 {name!r} 不允许通过接口发送 (the message {name!r} is not one the API "
                "delivers: see the message file, docs/api.md)",
                message_name=name,
            )
        return roles

    def sender_grant(self, principal: Principal, name: str, org_path: str) -> Grant:
        """The caller's grant by which they may send ``name`` to a case at ``org_path``."""
        grant = principal.covers(org_path, self.senders_of(name))
        if grant is None:
            raise PermissionDenied(
                f"无权向该案件发送消息 {name!r} (your roles may not send {name!r} to this case)",
                message_name=name,
            )
        return grant


def load_message_policy(path: Path, engine_only: Iterable[str] = ()) -> MessagePolicy:
    """Read the message file; no file means no message is deliverable through the API."""
    reserved = frozenset(engine_only)
    if not path.exists():
        return MessagePolicy({}, reserved)
    source = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MessageConfigError(source, [f"not readable YAML: {exc}"]) from None
    return parse_message_policy(raw, reserved, source)


def parse_message_policy(
    raw: Any, engine_only: frozenset[str], source: str = "messages.yaml"
) -> MessagePolicy:
    problems: list[str] = []
    if not isinstance(raw, dict) or raw.get("version") != 1:
        raise MessageConfigError(source, ["expected a mapping with version: 1 and messages:"])
    messages = raw.get("messages") or {}
    if not isinstance(messages, dict):
        raise MessageConfigError(source, ["messages: expected a mapping name → {roles: [...]}"])
    senders: dict[str, frozenset[str]] = {}
    for name, entry in messages.items():
        where = f"messages.{name}"
        if not isinstance(name, str) or not name:
            problems.append(f"{where}: a message name must be text")
            continue
        if name in engine_only:
            problems.append(f"{where}: sent only by the engine; it cannot be given to clients")
            continue
        roles = entry.get("roles") if isinstance(entry, dict) else None
        if not isinstance(roles, list) or not roles:
            problems.append(f"{where}.roles: a list of at least one role is required")
            continue
        unknown = [r for r in roles if r not in OPERATORS]
        if unknown:
            problems.append(
                f"{where}.roles: {unknown} are not roles that act on cases "
                f"(one of {sorted(OPERATORS)})"
            )
            continue
        senders[name] = frozenset(roles)
    if problems:
        raise MessageConfigError(source, problems)
    return MessagePolicy(senders, engine_only)


__all__ = ["MessageConfigError", "MessagePolicy", "load_message_policy", "parse_message_policy"]
