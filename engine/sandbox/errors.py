"""The two errors of the sandbox: source it refuses to compile, and code that failed while
running (limits included). Both carry the script line when it is known."""

from __future__ import annotations


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


def with_line(line: int | None, what: str) -> str:
    """``what``, prefixed with the script line when it is known."""
    return f"line {line}: {what}" if line is not None else what


__all__ = ["SandboxRuntimeError", "SandboxViolation", "with_line"]
