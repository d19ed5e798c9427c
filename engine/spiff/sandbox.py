"""The script sandbox for BPMN expressions, scripts, DMN cells and timer expressions.

PLACEHOLDER — being replaced by the hardened implementation (RestrictedPython restricted
compilation with guarded attribute/item/iteration access, time and size limits). The public
interface below is fixed; the engine depends on nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any, Literal


class SandboxViolation(Exception):
    """Source that the sandbox refuses to compile (found at deploy time or run time)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class SandboxRuntimeError(Exception):
    """An expression or script failed while running (including limits exceeded)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = 1.0
    max_steps: int = 100_000
    max_size: int = 1_000_000


class Sandbox:
    """Compile and run untrusted Python-subset code against task data."""

    def __init__(
        self,
        helpers: Mapping[str, Callable[..., Any]] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.helpers = dict(helpers or {})
        self.limits = limits or Limits()

    def compile(self, source: str, mode: Literal["eval", "exec"], filename: str = "<bpmn>") -> CodeType:
        if "__" in source or "import" in source:
            raise SandboxViolation("dunder names and imports are not allowed", line=1)
        try:
            return compile(source, filename, mode)
        except SyntaxError as exc:
            raise SandboxViolation(f"syntax error: {exc.msg}", line=exc.lineno) from None

    def evaluate(self, source: str, context: Mapping[str, Any]) -> Any:
        code = self.compile(source, "eval")
        env: dict[str, Any] = {"__builtins__": {}, **self.helpers, **context}
        try:
            return eval(code, env)
        except Exception as exc:
            raise SandboxRuntimeError(f"{type(exc).__name__}: {exc}") from None

    def execute(self, source: str, context: dict[str, Any]) -> None:
        """Run a script; assignments update ``context`` (the task data) in place."""
        code = self.compile(source, "exec")
        env: dict[str, Any] = {"__builtins__": {}, **self.helpers, **context}
        try:
            exec(code, env)
        except Exception as exc:
            raise SandboxRuntimeError(f"{type(exc).__name__}: {exc}") from None
        for key, value in env.items():
            if key == "__builtins__" or key in self.helpers or callable(value):
                continue
            context[key] = value
