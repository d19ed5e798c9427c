"""The compile-time policy of the script sandbox: RestrictedPython's, narrowed further, plus
the rewrites the run-time guards (:mod:`engine.sandbox.guards`) need.

What is refused at compile time (:class:`SandboxViolation`, found at deploy): names or
attributes starting with ``_`` (so every dunder, including Unicode look-alikes, which Python
normalises first), imports, ``class``, decorators, ``yield``, ``global``/``nonlocal``, ``with``,
``async``, ``match``, bare ``except:``, ``finally``, attribute assignment, slice assignment,
``print``, and the names ``getattr setattr delattr hasattr globals locals vars dir eval exec
compile open breakpoint help super object memoryview classmethod staticmethod property exit
quit``; calls of ``type id input iter next hash format repr issubclass callable``.
"""

from __future__ import annotations

import ast
import re
import textwrap
import threading
import warnings
from collections.abc import Sequence
from types import CodeType
from typing import Any, Final

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.sandbox.errors import SandboxViolation, with_line

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
    ast.Sub: "-",
    ast.BitAnd: "&",
    ast.FloorDiv: "//",
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
        new = super().visit_Subscript(node)
        if (
            isinstance(new, ast.Subscript)
            and isinstance(new.ctx, ast.Store | ast.Del)
            and not any(isinstance(part, ast.Slice) for part in ast.walk(new.slice))
        ):
            # ``d[key] = v`` / ``del d[key]`` hash the key in C: measure it first.
            new.slice = self._hashable(new.slice)
        return new

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
            for element in new.elts:
                if isinstance(element, ast.Starred):  # {*items} hashes every item in C
                    element.value = _call("_spreadset_", [element.value], element.value)
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
_WARNINGS_LOCK: Final = threading.Lock()  # catch_warnings changes process-wide state


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


def compile_source(source: str, mode: str, filename: str) -> CodeType:
    """Compile restricted code with the sandbox's policy; :class:`SandboxViolation` for anything
    refused statically (not cached: :class:`engine.sandbox.restricted.Sandbox` caches)."""
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
            raise SandboxViolation(with_line(exc.lineno, what), exc.lineno) from None
        except (RecursionError, MemoryError):
            raise SandboxViolation("the source is nested too deeply or is too big") from None
        except ValueError as exc:  # e.g. null bytes
            raise SandboxViolation(f"invalid source: {exc}") from None
    if result.errors:
        raise _violation(result.errors)
    for warning in caught:
        message = str(warning.message)
        if issubclass(warning.category, SyntaxWarning) and "escape sequence" not in message:
            raise SandboxViolation(with_line(warning.lineno, message), warning.lineno)
    code = result.code
    if not isinstance(code, CodeType):  # pragma: no cover - errors were reported above
        raise SandboxViolation("the source could not be compiled")
    return code


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
        message = with_line(line, what)
        if message not in messages:
            messages.append(message)
    return SandboxViolation("; ".join(messages), first_line)


__all__ = ["compile_source"]
