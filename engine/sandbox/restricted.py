"""The script sandbox for BPMN expressions, scripts, DMN cells, timer expressions and payloads.

Process designers write small pieces of Python that run against task data (a JSON-like dict).
They are compiled with RestrictedPython and a stricter policy (:class:`_Policy`), then run with
guard functions from :mod:`engine.sandbox.guards` that decide, at run time, what each attribute
read, subscript, loop, operator, comparison and conversion may do.

What scripts may do: literals, arithmetic, comparisons, ``and``/``or``/``not``, ``in``, slicing,
conditional expressions, comprehensions, ``if``/``for``/``while``, ``try``/``except`` with named
exception types, ``def`` and ``lambda`` (no decorators), assignment to names and to items of
dicts and lists (scripts only), the safe methods of str/list/dict/set/tuple and of datetimes,
safe builtins (``len min max sum abs round sorted any all range enumerate zip reversed str int
float bool list dict set frozenset tuple isinstance`` and a few exception types) and the helpers
passed to :class:`Sandbox` (see :mod:`engine.sandbox.helpers`).

What is refused at compile time (:class:`SandboxViolation`, found at deploy): names or
attributes starting with ``_`` (so every dunder, including Unicode look-alikes, which Python
normalises first), imports, ``class``, decorators, ``yield``, ``global``/``nonlocal``, ``with``,
``async``, ``match``, bare ``except:``, ``finally``, attribute assignment, slice assignment,
``print``, and the names ``getattr setattr delattr hasattr globals locals vars dir eval exec
compile open breakpoint help super object memoryview classmethod staticmethod property exit
quit``; calls of ``type id input iter next hash format repr issubclass callable``.

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

import ast
import functools
import keyword
import re
import textwrap
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import CodeType, TracebackType
from typing import Any, Final, Literal

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.sandbox.guards import (
    FLAT,
    MAX_DEPTH,
    Refused,
    Run,
    build_attribute_tables,
    measure,
    type_name,
)


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
# Compile-time policy

_FORBIDDEN_NAMES: Final = frozenset(
    {
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "globals",
        "locals",
        "vars",
        "dir",
        "eval",
        "exec",
        "compile",
        "open",
        "breakpoint",
        "help",
        "super",
        "object",
        "memoryview",
        "classmethod",
        "staticmethod",
        "property",
        "exit",
        "quit",
        "print",
        "printed",
        "builtins",
    }
)
# Plausible names of task data fields, so only calling them is refused.
_FORBIDDEN_CALLS: Final = frozenset(
    {"type", "id", "input", "iter", "next", "hash", "format", "repr", "issubclass", "callable"}
)
_FORBIDDEN_ATTRIBUTES: Final = frozenset(
    {
        "format_map",
        "mro",
        "func_globals",
        "func_code",
        "func_closure",
        "func_defaults",
        "func_dict",
        "im_func",
        "im_self",
        "im_class",
        "cell_contents",
        "gi_running",
        "f_lineno",
        "tb_lineno",
    }
)
_GUARDED_BINOPS: Final[dict[type[ast.operator], str]] = {
    ast.Add: "+",
    ast.Mult: "*",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.Mod: "%",
    ast.BitOr: "|",
    ast.BitXor: "^",
}
_COMPARE_OPS: Final[dict[type[ast.cmpop], str]] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[])
    ast.copy_location(node, like)
    ast.fix_missing_locations(node)
    return node


def _step(like: ast.AST) -> ast.Expr:
    node = ast.Expr(value=_call("_step_", [], like))
    ast.copy_location(node, like)
    return node


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, narrowed further, plus the rewrites the run-time guards need.

    New nodes are added after the children were visited, so RestrictedPython's name checks
    never see the ``_name_`` guards and user code can never name them.
    """

    # -- refusals ------------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in _FORBIDDEN_NAMES:
            self.error(node, f'"{node.id}" is not available in scripts.')
            return node
        return super().visit_Name(node)

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_CALLS:
            self.error(node, f'"{node.func.id}()" is not available in scripts.')
        return super().visit_Call(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if not isinstance(node.ctx, ast.Load):
            self.error(node, f'Assigning or deleting attributes ("{node.attr}") is not allowed.')
            return node
        if node.attr in _FORBIDDEN_ATTRIBUTES:
            self.error(node, f'"{node.attr}" is a forbidden attribute.')
        return super().visit_Attribute(node)

    def visit_Import(self, node: ast.Import) -> Any:
        self.error(node, "Import statements are not allowed.")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        self.error(node, "Import statements are not allowed.")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.error(node, "Class definitions are not allowed.")
        return node

    def visit_Yield(self, node: ast.Yield) -> Any:
        self.error(node, "yield (generator functions) is not allowed.")
        return node

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Any:
        self.error(node, "yield (generator functions) is not allowed.")
        return node

    def visit_Global(self, node: ast.Global) -> Any:
        self.error(node, "global statements are not allowed.")
        return node

    def visit_With(self, node: ast.With) -> Any:
        self.error(node, "with statements are not allowed.")
        return node

    def visit_Try(self, node: ast.Try) -> Any:
        if node.finalbody:
            self.error(node, "try/finally is not allowed.")
        for handler in node.handlers:
            if handler.type is None:
                self.error(
                    handler,
                    'A bare "except:" is not allowed; name the exception types, '
                    'e.g. "except ValueError:".',
                )
        return super().visit_Try(node)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        if isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
            self.error(node, "Assigning to a slice is not allowed; use list methods.")
            return node
        return super().visit_Subscript(node)

    # -- step counting -------------------------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        if node.decorator_list:
            self.error(node, "Decorators are not allowed.")
            return node
        new = super().visit_FunctionDef(node)
        if isinstance(new, ast.FunctionDef):
            new.body.insert(0, _step(new))
        return new

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        new = super().visit_Lambda(node)
        if isinstance(new, ast.Lambda):
            # ``_step_()`` returns None, so ``None or body`` is the body's value.
            body = ast.BoolOp(op=ast.Or(), values=[_call("_step_", [], new.body), new.body])
            ast.copy_location(body, new.body)
            new.body = body
        return new

    def visit_While(self, node: ast.While) -> Any:
        new = super().visit_While(node)
        if isinstance(new, ast.While):
            new.body.insert(0, _step(new))
        return new

    # -- operators -----------------------------------------------------------------------------

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        new = super().visit_BinOp(node)
        if isinstance(new, ast.BinOp):
            op = _GUARDED_BINOPS.get(type(new.op))
            if op is not None:
                return _call("_binop_", [ast.Constant(op), new.left, new.right], new)
        return new

    def visit_Compare(self, node: ast.Compare) -> Any:
        new = super().visit_Compare(node)
        if not isinstance(new, ast.Compare):
            return new
        if len(new.ops) == 1:
            op = _COMPARE_OPS.get(type(new.ops[0]))
            if op is None:  # "is" / "is not": identity, always cheap
                return new
            return _call("_compare_", [ast.Constant(op), new.left, new.comparators[0]], new)
        new.left = _call("_cmpok_", [new.left], new.left)
        new.comparators = [_call("_cmpok_", [value], value) for value in new.comparators]
        return new

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        target = node.target
        if not isinstance(target, ast.Subscript):
            return super().visit_AugAssign(node)
        if isinstance(target.slice, ast.Slice):
            self.error(node, "Augmented assignment to a slice is not allowed.")
            return node
        op = _GUARDED_BINOPS.get(type(node.op)) or _PLAIN_OPS.get(type(node.op))
        if op is None:
            self.error(node, "This augmented assignment is not allowed.")
            return node
        obj = self.visit(target.value)
        key = self.visit(target.slice)
        value = self.visit(node.value)
        call = _call("_augitem_", [obj, key, ast.Constant(op + "="), value], node)
        statement = ast.Expr(value=call)
        ast.copy_location(statement, node)
        return statement

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        new = super().visit_FormattedValue(node)
        if not isinstance(new, ast.FormattedValue):
            return new
        spec: ast.expr = new.format_spec if new.format_spec is not None else ast.Constant("")
        call = _call("_fmt_", [new.value, ast.Constant(new.conversion), spec], new)
        result = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        ast.copy_location(result, new)
        return result

    # -- copies and hashing in literals ---------------------------------------------------------

    def _spread(self, elts: list[ast.expr]) -> None:
        for element in elts:
            if isinstance(element, ast.Starred):
                element.value = _call("_spread_", [element.value], element.value)

    def _hashable(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Constant):
            return node
        return _call("_hashable_", [node], node)

    def visit_List(self, node: ast.List) -> Any:
        new = super().visit_List(node)
        if isinstance(new, ast.List) and isinstance(new.ctx, ast.Load):
            self._spread(new.elts)
        return new

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        new = super().visit_Tuple(node)
        if isinstance(new, ast.Tuple) and isinstance(new.ctx, ast.Load):
            self._spread(new.elts)
        return new

    def visit_Set(self, node: ast.Set) -> Any:
        new = super().visit_Set(node)
        if isinstance(new, ast.Set):
            self._spread(new.elts)
            new.elts = [e if isinstance(e, ast.Starred) else self._hashable(e) for e in new.elts]
        return new

    def visit_Dict(self, node: ast.Dict) -> Any:
        new = super().visit_Dict(node)
        if isinstance(new, ast.Dict):
            for index, key in enumerate(new.keys):
                if key is None:  # {**other}
                    new.values[index] = _call("_spread_", [new.values[index]], new.values[index])
                else:
                    new.keys[index] = self._hashable(key)
        return new

    def visit_SetComp(self, node: ast.SetComp) -> Any:
        new = super().visit_SetComp(node)
        if isinstance(new, ast.SetComp):
            new.elt = self._hashable(new.elt)
        return new

    def visit_DictComp(self, node: ast.DictComp) -> Any:
        new = super().visit_DictComp(node)
        if isinstance(new, ast.DictComp):
            new.key = self._hashable(new.key)
        return new


_PLAIN_OPS: Final[dict[type[ast.operator], str]] = {
    ast.Sub: "-",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.RShift: ">>",
    ast.BitAnd: "&",
}

_ERROR_LINE: Final = re.compile(r"^Line (\d+|None): (.*)$", re.DOTALL)
_CACHE_SIZE: Final = 2048
_WARNINGS_LOCK: Final = threading.Lock()  # catch_warnings changes process-wide state
_SCRIPT_FILENAME: Final = "<bpmn>"


def _parse_script(text: str, filename: str) -> ast.Module:
    """Parse a script; if it is only invalid because its first line lost the indentation the
    others share (text taken from indented XML and stripped), parse it with the others
    dedented too. Line numbers are unchanged; valid code is never reinterpreted."""
    try:
        return ast.parse(text, filename, "exec")
    except IndentationError:
        first, _, rest = text.partition("\n")
        dedented = textwrap.dedent(rest)
        if not rest or first[:1].isspace() or dedented == rest:
            raise
        try:
            return ast.parse(first + "\n" + dedented, filename, "exec")
        except SyntaxError:
            pass
        raise


def _with_line(line: int | None, what: str) -> str:
    return f"line {line}: {what}" if line is not None else what


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
        self._attributes = {
            "eval": build_attribute_tables(mutable=False),
            "exec": build_attribute_tables(mutable=True),
        }
        self._compile_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._compile_source)

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

    def _compile_source(self, source: str, mode: str, filename: str) -> CodeType:
        text = source.strip() if mode == "eval" else textwrap.dedent(source)
        if not text:
            raise SandboxViolation("the expression is empty" if mode == "eval" else "empty script")
        with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if mode == "eval":
                    expression = ast.parse(text, filename, "eval")
                    result = compile_restricted_eval(expression, filename, policy=_Policy)
                else:
                    module = _parse_script(text, filename)
                    result = compile_restricted_exec(module, filename, policy=_Policy)
            except SyntaxError as exc:
                what = f"syntax error: {exc.msg}"
                raise SandboxViolation(_with_line(exc.lineno, what), exc.lineno) from None
            except (RecursionError, MemoryError):
                raise SandboxViolation("the source is nested too deeply or is too big") from None
            except ValueError as exc:  # e.g. null bytes
                raise SandboxViolation(f"invalid source: {exc}") from None
        if result.errors:
            raise self._violation(result.errors)
        for warning in caught:
            message = str(warning.message)
            if issubclass(warning.category, SyntaxWarning) and "escape sequence" not in message:
                raise SandboxViolation(_with_line(warning.lineno, message), warning.lineno)
        code = result.code
        if not isinstance(code, CodeType):  # pragma: no cover - errors were reported above
            raise SandboxViolation("the source could not be compiled")
        return code

    @staticmethod
    def _violation(errors: Sequence[str]) -> SandboxViolation:
        messages: list[str] = []
        first_line: int | None = None
        for error in errors:
            match = _ERROR_LINE.match(error)
            line: int | None = None
            what = error
            if match is not None:
                what = match.group(2).rstrip(".")
                line = int(match.group(1)) if match.group(1) != "None" else None
            if first_line is None:
                first_line = line
            message = _with_line(line, what)
            if message not in messages:
                messages.append(message)
        return SandboxViolation("; ".join(messages), first_line)

    # -- running -------------------------------------------------------------------------------

    def _run(self, mode: Literal["eval", "exec"]) -> Run:
        limits = self.limits
        return Run(
            max_steps=limits.max_steps,
            timeout_seconds=limits.timeout_seconds,
            max_size=limits.max_size,
            attributes=self._attributes[mode],
            mutable=mode == "exec",
        )

    def _environment(self, guards: dict[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
        env = dict(self.helpers)
        env.update(context)
        env.update(guards)  # last: task data can never replace a guard
        return env

    def evaluate(self, source: str, context: Mapping[str, Any]) -> Any:
        """Evaluate an expression against ``context`` (read-only) and return its value."""
        code = self.compile(source, "eval")
        run = self._run("eval")
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

    def execute(self, source: str, context: dict[str, Any]) -> None:
        """Run a script; assignments update ``context`` (the task data) in place.

        New or changed names holding data are written back (functions are not; datetimes are
        stored as ISO-8601 strings); names the script deleted are removed. Values must be
        JSON-compatible: a set, for instance, must be turned into a list first. Nothing is
        written back if the script fails (changes made in place to lists and dicts remain).
        """
        code = self.compile(source, "exec")
        run = self._run("exec")
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
        return SandboxRuntimeError(_with_line(line, what), line)


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
