"""The script sandbox for BPMN expressions, scripts, DMN cells, timer expressions and payloads.

Process designers write small pieces of Python that run against task data (a JSON-like dict).
They are compiled with RestrictedPython and a stricter policy (:mod:`engine.sandbox.policy`),
then run with guard functions from :mod:`engine.sandbox.guards` that decide, at run time, what
each attribute read, subscript, loop, operator, comparison and conversion may do.

What scripts may do: literals, arithmetic, comparisons, ``and``/``or``/``not``, ``in``, slicing,
conditional expressions, comprehensions, ``if``/``for``/``while``, ``try``/``except`` with named
exception types, ``def`` and ``lambda`` (no decorators), assignment to names and to items of
dicts and lists (scripts only), the safe methods of str/list/dict/set/tuple and of datetimes,
safe builtins (``len min max sum abs round sorted any all range enumerate zip reversed str int
float bool list dict set frozenset tuple isinstance`` and a few exception types) and the helpers
passed to :class:`Sandbox` (see :mod:`engine.sandbox.helpers`).

What is refused at compile time (:class:`SandboxViolation`, found at deploy) is the policy of
:mod:`engine.sandbox.policy`.

What is refused at run time (:class:`SandboxRuntimeError`): any attribute not on the allowlist of
the value's exact type (types and functions have none), methods that change data inside
expressions, ``str.format`` fields with ``.`` or ``[...]``, and every limit in :class:`Limits`.
Limits are enforced without signals or tracing (so they work in any thread): loop iterations and
calls of script functions count steps and check the deadline; operand sizes are checked before
``* ** << + %`` and padding/replace/join so ``"a" * 10**10`` or ``10 ** 10**8`` are refused
before anything is allocated; containers are measured before C code compares, hashes, sorts or
formats them.
"""

from __future__ import annotations

import functools
import keyword
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import CodeType, TracebackType
from typing import Any, Final, Literal

from engine.sandbox.bulk import keep_int_text_limit
from engine.sandbox.errors import SandboxRuntimeError, SandboxViolation, with_line
from engine.sandbox.guards import (
    FLAT,
    MAX_DEPTH,
    Refused,
    Run,
    build_attribute_tables,
    measure,
    type_name,
)
from engine.sandbox.policy import compile_source

_CACHE_SIZE: Final = 2048
_SCRIPT_FILENAME: Final = "<bpmn>"


@dataclass(frozen=True)
class Limits:
    """Per-evaluation limits.

    ``max_steps``: loop iterations plus calls of functions defined in the script.
    ``max_size``: elements or characters of any one value (and bits of any int); bulk results
    are also charged against a budget of a few times ``max_size`` per evaluation.
    """

    timeout_seconds: float = 1.0
    max_steps: int = 100_000
    max_size: int = 1_000_000

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0 or self.max_steps <= 0 or self.max_size <= 0:
            raise ValueError("sandbox limits must be positive")


# ---------------------------------------------------------------------------------------------
# The sandbox


class Sandbox:
    """Compile and run untrusted Python-subset code against task data.

    ``helpers``: functions offered by name to every expression and script (task data of the
    same name takes precedence). Build them with :func:`engine.sandbox.helpers.make_helpers`; the
    working-day helpers of the calendar are added the same way (see
    :func:`engine.sandbox.helpers.with_calendar`). Helpers are trusted code: they receive
    sandbox values as they are and must return data (str, numbers, lists, dicts, ...).

    A ``Sandbox`` is thread-safe and meant to be shared: compiled code is cached per
    ``(source, mode, filename)``.
    """

    def __init__(
        self,
        helpers: Mapping[str, Callable[..., Any]] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.helpers = dict(helpers or {})
        for name, helper in self.helpers.items():
            if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
                raise ValueError(f"invalid helper name {name!r}")
            if not callable(helper):
                raise ValueError(f"helper {name!r} is not callable")
        self.limits = limits or Limits()
        keep_int_text_limit()  # str(10**300000) would be quadratic without it
        self._attributes = {
            "eval": build_attribute_tables(mutable=False),
            "exec": build_attribute_tables(mutable=True),
        }
        self._compile_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(compile_source)

    # -- compiling -----------------------------------------------------------------------------

    def compile(
        self, source: str, mode: Literal["eval", "exec"], filename: str = _SCRIPT_FILENAME
    ) -> CodeType:
        """Compile restricted code (cached). Raises :class:`SandboxViolation` for anything the
        sandbox refuses statically; call it at deploy time to report problems early."""
        if mode not in ("eval", "exec"):
            raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
        if not isinstance(source, str):
            raise SandboxViolation(f"source must be text, not {type_name(source)}")
        return self._compile_cached(source, mode, filename)

    # -- running -------------------------------------------------------------------------------

    def _run(self, mode: Literal["eval", "exec"], deadline: float | None) -> Run:
        limits = self.limits
        return Run(
            max_steps=limits.max_steps,
            timeout_seconds=limits.timeout_seconds,
            max_size=limits.max_size,
            attributes=self._attributes[mode],
            mutable=mode == "exec",
            deadline=deadline,
        )

    def _environment(self, guards: dict[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
        env = dict(self.helpers)
        env.update(context)
        env.update(guards)  # last: task data can never replace a guard
        return env

    def evaluate(
        self, source: str, context: Mapping[str, Any], *, deadline: float | None = None
    ) -> Any:
        """Evaluate an expression against ``context`` (read-only) and return its value.

        ``deadline`` (``time.monotonic()`` based): an outer limit, e.g. the running command's,
        that ends the evaluation earlier than its own time limit would."""
        code = self.compile(source, "eval")
        run = self._run("eval", deadline)
        env = self._environment(run.guards(), context)
        try:
            result = eval(code, env)
            run.finish()
            if type(result) not in FLAT:
                if callable(result) or isinstance(result, Iterator):
                    raise Refused(
                        f"an expression must produce data, not a {type_name(result)} "
                        "(use list(...) to turn a generator into a list)"
                    )
                measure(result, self.limits.max_size)
        except (Refused, Exception) as exc:
            raise self._runtime_error(exc, code.co_filename) from None
        return result

    def execute(
        self, source: str, context: dict[str, Any], *, deadline: float | None = None
    ) -> None:
        """Run a script; assignments update ``context`` (the task data) in place.

        New or changed names holding data are written back (functions are not; datetimes are
        stored as ISO-8601 strings); names the script deleted are removed. Values must be
        JSON-compatible: a set, for instance, must be turned into a list first. Nothing is
        written back if the script fails (changes made in place to lists and dicts remain).
        """
        code = self.compile(source, "exec")
        run = self._run("exec", deadline)
        guards = run.guards()
        env = self._environment(guards, context)
        try:
            exec(code, env)
            run.finish()
        except (Refused, Exception) as exc:
            raise self._runtime_error(exc, code.co_filename) from None
        updates: dict[str, Any] = {}
        for name, value in env.items():
            if not isinstance(name, str) or name.startswith("_") or name in guards:
                continue
            if callable(value) or value is self.helpers.get(name, _MISSING):
                continue
            if name in context and context[name] is value and type(value) in FLAT:
                continue  # unchanged
            updates[name] = self._storable(name, value)
        removed = [
            name
            for name in context
            if isinstance(name, str) and not name.startswith("_") and name not in env
        ]
        for name in removed:
            del context[name]
        context.update(updates)

    def _storable(self, name: str, value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        try:
            measure(value, self.limits.max_size)
        except Refused as exc:
            raise SandboxRuntimeError(f"variable '{name}': {exc.message}") from None
        problem = _json_problem(value)
        if problem is not None:
            raise SandboxRuntimeError(
                f"variable '{name}' holds {problem}, which cannot be stored in task data "
                "(task data must be JSON: use lists, dicts, strings, numbers, booleans, None; "
                "convert datetimes with iso(...))"
            )
        return value

    def _runtime_error(self, exc: BaseException, filename: str) -> SandboxRuntimeError:
        line = _script_line(exc.__traceback__, filename)
        if isinstance(exc, Refused):
            what = exc.message
        elif isinstance(exc, NameError) and getattr(exc, "name", None):
            what = f"unknown name '{exc.name}' (not in the task data or the helpers)"
        elif isinstance(exc, RecursionError):
            what = "calls are nested too deeply (runaway recursion?)"
        elif isinstance(exc, MemoryError):
            what = "out of memory"
        else:
            what = f"{type(exc).__name__}: {_describe(exc)}"
        return SandboxRuntimeError(with_line(line, what), line)


_MISSING: Final = object()
_JSON_SCALARS: Final = (str, int, float, bool, type(None))


def _json_problem(value: Any, depth: int = 0) -> str | None:
    """Describe the first value that JSON cannot hold (``value`` was measured: no cycles)."""
    if isinstance(value, _JSON_SCALARS):
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, _JSON_SCALARS):
                return f"a dict key of type {type_name(key)}"
            problem = _json_problem(item, depth + 1)
            if problem is not None:
                return problem
        return None
    if isinstance(value, list | tuple):
        for item in value:
            problem = _json_problem(item, depth + 1)
            if problem is not None:
                return problem
        return None
    if depth > MAX_DEPTH:  # pragma: no cover - measure() refuses this first
        return "nesting too deep"
    return f"a value of type {type_name(value)}"


def _script_line(tb: TracebackType | None, filename: str) -> int | None:
    line: int | None = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(exc: BaseException) -> str:
    try:
        measure(exc.args, 10_000)
        text = str(exc)
    except Refused:
        return "(the error message is too large to show)"
    return text if len(text) <= 300 else text[:300] + "..."


__all__ = ["Limits", "Sandbox", "SandboxRuntimeError", "SandboxViolation"]
