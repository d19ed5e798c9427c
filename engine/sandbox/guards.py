"""Run-time guards for the script sandbox (private to :mod:`engine.sandbox.restricted`).

The restricting compiler rewrites every attribute read, subscript, iteration, augmented
assignment, size-sensitive operator (``+ * ** << % | ^``), comparison, f-string field, starred
unpacking and set/dict key into a call to one of the ``_name_`` functions built here, and injects
``_step_()`` at the top of every ``while`` body, ``def`` body and ``lambda``. One :class:`Run` is
made per evaluation; its bound methods are those functions, so each evaluation has its own step
count, deadline and allocation budget (nothing is shared between threads).

Three limits apply (see ``Limits`` in ``sandbox.py``):

* steps: every loop iteration (``for``, comprehensions, ``while``) and every call of a function
  defined in the script counts one step; the deadline is checked at every step, so
  ``while True: pass`` and runaway recursion end without signals (works in any thread);
* size: no string, list, tuple, dict, set or range may hold more than ``max_size`` elements or
  characters, no int more than ``max_size`` bits; operand sizes are checked *before* the
  operation so ``"a" * 10**10`` is refused without allocating;
* allocation: bulk results (``_BULK`` units or more) are charged to a per-evaluation budget of
  ``_ALLOCATION_FACTOR * max_size``, so a loop cannot pile up copies of big values.

Operations that walk a container's structure in C (comparison, hashing, ``str``/``repr``,
formatting, sorting) first measure the containers involved with :func:`measure`, which counts
shared sub-containers every time they occur, so a small DAG of shared lists cannot expand into
billions of comparisons or characters.

C work that grows faster than its operands is checked before it starts (issue 14; the checks
live in :mod:`engine.sandbox.bulk`): sets and dicts built in one call, set algebra and updates
refuse a hash flood; ``//``, ``%`` and ``round(x, -n)`` on big ints refuse quadratic division;
``x in items``, ``count``/``index``/``remove`` measure the items unless ``x`` is short; keys
assigned or deleted (``d[key] = v``) are measured before they are hashed; ``zip`` refuses an
output beyond the allocation budget; ``sum`` checks the deadline per item; ``strip`` refuses a
long argument over a long text. :func:`measure` counts a big int by its digits (C compares them
one by one). An outer deadline (the running command's) can end an evaluation early.

Refusals and exceeded limits raise :class:`Refused`, a ``BaseException``: ``except Exception``
in a script cannot swallow them (bare ``except:`` and ``finally`` are refused at compile time).
"""

from __future__ import annotations

import math
import operator
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any, Final, cast

from engine.sandbox.bulk import (
    HASH_CHECK_FROM,
    MAX_DIVISION_WORK,
    cheap,
    division_cost,
    hash_flood,
    hashed_lookup,
)

# ---------------------------------------------------------------------------------------------
# Exceptions


class Refused(BaseException):
    """An operation refused by the sandbox. Not an ``Exception``: scripts cannot catch it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LimitExceeded(Refused):
    """A step, time, size or allocation limit was exceeded."""


# ---------------------------------------------------------------------------------------------
# Measuring values

MAX_DEPTH: Final = 100
"""Deepest nesting of containers a value may have (task data must stay JSON-serialisable)."""

_BULK: Final = 64
"""Results at least this big are charged to the allocation budget."""

_ALLOCATION_FACTOR: Final = 4
"""The allocation budget of one evaluation, in multiples of ``max_size``."""

NoneType = type(None)
_DICT_VIEWS: Final[tuple[type, ...]] = (type({}.keys()), type({}.values()), type({}.items()))

# Values whose comparison, hashing and formatting cost O(1) or O(own length).
FLAT: Final[frozenset[type]] = frozenset(
    {str, int, float, bool, NoneType, bytes, complex, datetime, date, timedelta}
)
_SIZED: Final[frozenset[type]] = frozenset({str, bytes, list, tuple, dict, set, frozenset})
_SEQUENCES: Final = (str, bytes, list, tuple)
_INTS: Final[frozenset[type]] = frozenset({int, bool})
_LOG2_10: Final = math.log2(10)
_SCAN_WORK: Final = MAX_DIVISION_WORK
_NUMBERS: Final[frozenset[type]] = frozenset({int, bool, float})


def type_name(value: object) -> str:
    return type(value).__name__


def _children(value: object) -> Iterator[object] | None:
    if isinstance(value, dict):
        return chain.from_iterable(value.items())
    if isinstance(value, (list, tuple, set, frozenset, *_DICT_VIEWS)):
        return iter(cast(Iterable[object], value))
    if isinstance(value, BaseException):
        return iter(value.args)
    return None


def measure(value: object, limit: int) -> int:
    """Return the size of ``value`` as a tree: one per element plus the length of every string
    (and about the digits of every big int, which C compares digit by digit), shared
    sub-containers counted each time they occur (but walked once). Refuse cycles, nesting
    deeper than :data:`MAX_DEPTH` and sizes above ``limit`` (stopping as soon as the limit is
    passed)."""
    kind = type(value)
    if kind is str or kind is bytes:
        total = 1 + len(value)  # type: ignore[arg-type]
        if total > limit:
            raise LimitExceeded(f"a value of {total} characters is bigger than {limit}")
        return total
    first = _children(value)
    if first is None:
        return 1
    total = 1
    # Sizes of containers already walked: a DAG of shared containers is walked once per
    # container, not once per occurrence (the count still charges every occurrence).
    done: dict[int, int] = {}
    keep: list[object] = []  # walked containers stay alive, so their ids stay unique
    stack: list[tuple[Iterator[object], int, int]] = []
    on_path = {id(value)}
    current_id = id(value)
    current_start = 0
    current = first
    while True:
        descended = False
        for item in current:
            total += 1
            kind = type(item)
            if kind is str or kind is bytes:
                total += len(item)  # type: ignore[arg-type]
            elif kind is int:
                total += item.bit_length() >> 5  # type: ignore[attr-defined]  # compare cost
            elif kind not in FLAT:
                ident = id(item)
                known = done.get(ident)
                if known is not None:
                    total += known - 1
                else:
                    children = _children(item)
                    if children is not None:
                        if ident in on_path:
                            raise Refused("a value contains itself (a cycle)")
                        if len(stack) + 1 >= MAX_DEPTH:
                            raise Refused(f"a value is nested more than {MAX_DEPTH} levels deep")
                        stack.append((current, current_id, current_start))
                        keep.append(item)
                        on_path.add(ident)
                        current, current_id, current_start = children, ident, total - 1
                        descended = True
            if total > limit:
                raise LimitExceeded(
                    f"a value with more than {limit} elements and characters is too big "
                    "(containers shared several times count each time)"
                )
            if descended:
                break
        if descended:
            continue
        on_path.discard(current_id)
        done[current_id] = total - current_start
        if not stack:
            return total
        current, current_id, current_start = stack.pop()


# ---------------------------------------------------------------------------------------------
# Format specifications

_PERCENT_SPEC: Final = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.?)")
_DIGITS: Final = re.compile(r"\d+")
_FIELD_NAME: Final = re.compile(r"\w*")

_CONVERSIONS: Final[dict[int, str]] = {-1: "", 115: "s", 114: "r", 97: "a"}


class _SafeFormatter(string.Formatter):
    """``str.format`` without attribute or index traversal in field names, with size limits."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.total = 0

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if not _FIELD_NAME.fullmatch(field_name):
            raise Refused(
                f"format field {{{field_name}}} is not allowed: fields may only name an "
                "argument, like {0} or {name} ('.' and '[...]' lookups are refused)"
            )
        return super().get_field(field_name, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion in ("r", "a", "s") and type(value) not in FLAT:
            self.run.operand(value)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        result = self.run.fmt(value, -1, format_spec)
        self.total += len(result)
        if self.total > self.run.max_size:
            raise LimitExceeded(
                f"str.format() would build more than {self.run.max_size} characters"
            )
        return result


# ---------------------------------------------------------------------------------------------
# Attribute allowlists

# What an attribute name gives access to:
_VALUE = "value"  # a plain data attribute (datetime.year)
_METHOD = "method"  # a method, called through a generic guard
_WIDTH = "width"  # ljust / rjust / center / zfill: first argument is a width
_REPLACE = "replace"
_EXPANDTABS = "expandtabs"
_JOIN = "join"
_FORMAT = "format"
_GROW = "grow"  # list.extend, dict.update, set.update: size checked before
_INSPECT = "inspect"  # count/index/remove/sort on lists: compares elements
_SORT = "sort"
_STRFTIME = "strftime"

_STR_READ: Final[dict[str, str]] = {
    **dict.fromkeys(
        [
            "capitalize",
            "casefold",
            "count",
            "endswith",
            "find",
            "index",
            "isalnum",
            "isalpha",
            "isascii",
            "isdecimal",
            "isdigit",
            "isidentifier",
            "islower",
            "isnumeric",
            "isprintable",
            "isspace",
            "istitle",
            "isupper",
            "lower",
            "partition",
            "removeprefix",
            "removesuffix",
            "rfind",
            "rindex",
            "rpartition",
            "rsplit",
            "split",
            "splitlines",
            "startswith",
            "swapcase",
            "title",
            "upper",
        ],
        _METHOD,
    ),
    **dict.fromkeys(["center", "ljust", "rjust", "zfill"], _WIDTH),
    "replace": _REPLACE,
    **dict.fromkeys(["strip", "lstrip", "rstrip"], "strip"),
    "expandtabs": _EXPANDTABS,
    "join": _JOIN,
    "format": _FORMAT,
}
_LIST_READ: Final = {"copy": _METHOD, "count": _INSPECT, "index": _INSPECT}
_LIST_WRITE: Final = {
    **dict.fromkeys(["append", "clear", "insert", "pop", "reverse"], _METHOD),
    "extend": _GROW,
    "remove": _INSPECT,
    "sort": _SORT,
}
_TUPLE_READ: Final = {"count": _INSPECT, "index": _INSPECT}
_DICT_READ: Final = dict.fromkeys(["copy", "get", "items", "keys", "values"], _METHOD)
_DICT_WRITE: Final = {
    **dict.fromkeys(["clear", "pop", "popitem", "setdefault"], _METHOD),
    "update": _GROW,
}
_SETOP = "setop"  # set algebra: hashes the arguments' items in C
_SET_READ: Final = {
    "copy": _METHOD,
    **dict.fromkeys(
        [
            "difference",
            "intersection",
            "isdisjoint",
            "issubset",
            "issuperset",
            "symmetric_difference",
            "union",
        ],
        _SETOP,
    ),
}
_SET_WRITE: Final = {
    **dict.fromkeys(
        [
            "add",
            "clear",
            "discard",
            "pop",
            "remove",
        ],
        _METHOD,
    ),
    **dict.fromkeys(
        ["difference_update", "intersection_update", "symmetric_difference_update"], _SETOP
    ),
    "update": _GROW,
}
_DATE_READ: Final = {
    **dict.fromkeys(["year", "month", "day"], _VALUE),
    **dict.fromkeys(["weekday", "isoweekday", "isoformat"], _METHOD),
    "strftime": _STRFTIME,
}
_DATETIME_READ: Final = {
    **_DATE_READ,
    **dict.fromkeys(["hour", "minute", "second", "microsecond"], _VALUE),
    **dict.fromkeys(["date", "timestamp"], _METHOD),
}
_TIMEDELTA_READ: Final = {
    **dict.fromkeys(["days", "seconds", "microseconds"], _VALUE),
    "total_seconds": _METHOD,
}

# Order matters for subclasses: bool before int, datetime before date.
_READ_TABLES: Final[tuple[tuple[type, dict[str, str]], ...]] = (
    (str, _STR_READ),
    (list, _LIST_READ),
    (dict, _DICT_READ),
    (tuple, _TUPLE_READ),
    (set, _SET_READ),
    (frozenset, _SET_READ),
    (bool, {}),
    (int, {"bit_length": _METHOD}),
    (float, {"is_integer": _METHOD}),
    (datetime, _DATETIME_READ),
    (date, _DATE_READ),
    (timedelta, _TIMEDELTA_READ),
)
_WRITE_EXTRA: Final[dict[type, dict[str, str]]] = {
    list: _LIST_WRITE,
    dict: _DICT_WRITE,
    set: _SET_WRITE,
}


def build_attribute_tables(mutable: bool) -> dict[type, dict[str, str]]:
    """The attributes scripts may read, by exact type (``mutable``: scripts, not expressions)."""
    tables: dict[type, dict[str, str]] = {}
    for kind, table in _READ_TABLES:
        merged = dict(table)
        if mutable:
            merged.update(_WRITE_EXTRA.get(kind, {}))
        tables[kind] = merged
    return tables


# ---------------------------------------------------------------------------------------------
# Operators

_CMP: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}
_PLAIN_BINOPS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "-": operator.sub,
    "/": operator.truediv,
    "//": operator.floordiv,
    ">>": operator.rshift,
    "&": operator.and_,
    "@": operator.matmul,
}
_SET_OPS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "|": operator.or_,
    "^": operator.xor,
    "-": operator.sub,
    "&": operator.and_,
}
_HASHED: Final[tuple[type, ...]] = (set, frozenset, dict, type({}.keys()), type({}.items()))
_IN_PLACE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": operator.iadd,
    "|": operator.ior,
    "^": operator.ixor,
}


# ---------------------------------------------------------------------------------------------
# One evaluation


class Run:
    """The state and guard functions of one evaluation."""

    def __init__(
        self,
        *,
        max_steps: int,
        timeout_seconds: float,
        max_size: int,
        attributes: dict[type, dict[str, str]],
        mutable: bool,
        deadline: float | None = None,
    ) -> None:
        self.max_steps = max_steps
        self.max_size = max_size
        self.max_int_bits = max(max_size, 64)
        self.timeout_seconds = timeout_seconds
        own = time.monotonic() + timeout_seconds
        # An outer deadline (the running command's) may end the evaluation earlier.
        self.outer_deadline = deadline is not None and deadline < own
        self.deadline = deadline if deadline is not None and deadline < own else own
        self.steps = 0
        self.allocated = 0
        self.allocation_limit = _ALLOCATION_FACTOR * max_size
        self.attributes = attributes
        self.mutable = mutable
        self.exceeded: str | None = None

    # -- limits -------------------------------------------------------------------------------

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps or time.monotonic() > self.deadline:
            self._exceeded()

    def _exceeded(self) -> None:
        if self.exceeded is None:
            if self.steps > self.max_steps:
                self.exceeded = (
                    f"too many steps: more than {self.max_steps} loop iterations and calls"
                )
            elif self.outer_deadline:
                self.exceeded = "stopped: the command's time budget ran out"
            else:
                self.exceeded = f"took longer than the limit of {self.timeout_seconds:g} seconds"
        raise LimitExceeded(self.exceeded)

    def finish(self) -> None:
        """Re-raise a limit that a script swallowed (``return`` or ``break`` in a handler)."""
        if self.exceeded is not None:
            raise LimitExceeded(self.exceeded)

    def charge(self, size: int) -> None:
        self.allocated += size
        if self.allocated > self.allocation_limit:
            self.exceeded = (
                f"allocated more than {self.allocation_limit} elements and characters in bulk"
            )
            raise LimitExceeded(self.exceeded)

    def produced(self, result: object) -> None:
        """Check and charge the size of a freshly built result."""
        if type(result) in _SIZED or isinstance(result, (str, list, tuple, dict, set, frozenset)):
            size = len(result)  # type: ignore[arg-type]
            if size > self.max_size:
                raise LimitExceeded(self._too_big(size))
            if size >= _BULK:
                self.charge(size)
        elif isinstance(result, int) and result.bit_length() > self.max_int_bits:
            raise LimitExceeded(f"a number bigger than {self.max_int_bits} bits is not allowed")

    def _too_big(self, size: int) -> str:
        return f"a result of {size} elements or characters is bigger than the limit {self.max_size}"

    def check_size(self, size: int, what: str) -> None:
        if size > self.max_size:
            raise LimitExceeded(
                f"{what} would make {size} elements or characters; the limit is {self.max_size}"
            )

    def operand(self, value: object) -> int:
        """Measure a container before C code walks it (compare, hash, format, sort)."""
        return measure(value, self.max_size)

    def ensure_flat_or_measured(self, value: object) -> object:
        if type(value) not in FLAT:
            measure(value, self.max_size)
        return value

    # -- iteration ------------------------------------------------------------------------------

    def getiter(self, obj: Any) -> Iterator[Any]:
        return self._counted(iter(obj))

    def _counted(self, iterator: Iterator[Any]) -> Iterator[Any]:
        max_steps = self.max_steps
        deadline = self.deadline
        monotonic = time.monotonic
        for item in iterator:
            self.steps += 1
            if self.steps > max_steps or monotonic() > deadline:
                self._exceeded()
            yield item

    def unpack_sequence(self, value: Any, spec: dict[str, Any], getiter: Any = None) -> Any:
        result = list(value)
        self.produced(result)
        if len(result) < spec["min_len"]:
            return result  # Python itself reports the wrong count
        for index, child in spec["childs"]:
            result[index] = self.unpack_sequence(result[index], child)
        return result

    def iter_unpack_sequence(
        self, value: Any, spec: dict[str, Any], getiter: Any = None
    ) -> Iterator[Any]:
        for item in self.getiter(value):
            yield self.unpack_sequence(item, spec)

    # -- attributes and items -------------------------------------------------------------------

    def get_attribute(self, obj: Any, name: str) -> Any:
        kind = type(obj)
        table = self.attributes.get(kind)
        if table is None:
            table = self._table_for_subclass(obj)
        access = table.get(name) if table is not None else None
        if access is None:
            raise Refused(self._attribute_refusal(obj, name))
        if access == _VALUE:
            return getattr(obj, name)
        return self._method(obj, name, access)

    def _table_for_subclass(self, obj: Any) -> dict[str, str] | None:
        if isinstance(obj, type):
            return None
        for kind, _table in _READ_TABLES:
            if isinstance(obj, kind):
                return self.attributes[kind]
        return None

    def _attribute_refusal(self, obj: Any, name: str) -> str:
        if isinstance(obj, type):
            return f'attribute "{name}" of the type {obj.__name__} is not allowed'
        if callable(obj):
            return f'attribute "{name}" is not allowed: functions have no attributes in scripts'
        if not self.mutable and name in _WRITE_EXTRA.get(type(obj), {}):
            return (
                f'"{type_name(obj)}.{name}()" changes data and is only allowed in scripts, '
                "not in expressions"
            )
        return f'attribute "{name}" is not allowed on a value of type {type_name(obj)}'

    def _method(self, obj: Any, name: str, access: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(obj, name)
        if access == _METHOD:
            return self._generic(method)
        if access == _WIDTH:
            return self._width_method(obj, method, name)
        if access == _REPLACE:
            return self._replace_method(obj)
        if access == _EXPANDTABS:
            return self._expandtabs_method(obj)
        if access == _JOIN:
            return self._join_method(obj)
        if access == _FORMAT:
            return self._format_method(obj)
        if access == _GROW:
            return self._grow_method(obj, method, name)
        if access == "strip":
            return self._strip_method(obj, method)
        if access == _SETOP:
            return self._setop_method(obj, method)
        if access == _INSPECT:
            return self._inspect_method(obj, method)
        if access == _SORT:
            return self._sort_method(obj, method)
        if access == _STRFTIME:
            return self._strftime_method(method)
        raise AssertionError(access)  # pragma: no cover

    def _check_args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for arg in args:
            if type(arg) not in FLAT:
                measure(arg, self.max_size)
        for arg in kwargs.values():
            if type(arg) not in FLAT:
                measure(arg, self.max_size)

    def _generic(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self._check_args(args, kwargs)
            result = method(*args, **kwargs)
            self.produced(result)
            return result

        return guarded

    def _width_method(self, obj: str, method: Callable[..., Any], name: str) -> Callable[..., Any]:
        def guarded(width: Any, *args: Any) -> Any:
            if type(width) in _INTS:
                self.check_size(width, f"str.{name}()")
            result = method(width, *args)
            self.produced(result)
            return result

        return guarded

    def _replace_method(self, obj: str) -> Callable[..., Any]:
        def guarded(old: Any, new: Any, count: Any = -1) -> Any:
            if type(old) is str and type(new) is str and type(count) in _INTS:
                matches = len(obj) + 1 if old == "" else obj.count(old)
                if count >= 0:
                    matches = min(matches, count)
                size = len(obj) + matches * (len(new) - len(old))
                self.check_size(size, "str.replace()")
            result = obj.replace(old, new, count)
            self.produced(result)
            return result

        return guarded

    def _expandtabs_method(self, obj: str) -> Callable[..., Any]:
        def guarded(tabsize: Any = 8) -> Any:
            if type(tabsize) in _INTS:
                size = len(obj) + obj.count("\t") * max(tabsize, 0)
                self.check_size(size, "str.expandtabs()")
            result = obj.expandtabs(tabsize)
            self.produced(result)
            return result

        return guarded

    def _join_method(self, sep: str) -> Callable[..., Any]:
        def guarded(iterable: Any) -> Any:
            items = list(iterable)
            self.check_size(len(items), "str.join()")
            size = len(sep) * max(len(items) - 1, 0)
            for item in items:
                if type(item) is str:
                    size += len(item)
            self.check_size(size, "str.join()")
            result = sep.join(items)
            self.produced(result)
            return result

        return guarded

    def _format_method(self, template: str) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            result = _SafeFormatter(self).vformat(template, args, kwargs)
            self.produced(result)
            return result

        return guarded

    def _grow_method(self, obj: Any, method: Callable[..., Any], name: str) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            added = len(kwargs)
            materialised: list[Any] = []
            for arg in args:
                if not hasattr(arg, "__len__"):
                    arg = list(arg)
                if type(arg) not in FLAT:
                    measure(arg, self.max_size)
                added += len(arg)
                materialised.append(arg)
            self.check_size(len(obj) + added, f"{type_name(obj)}.{name}()")
            if added >= _BULK:
                self.charge(added)
            if isinstance(obj, set | dict) and added:
                keys = _pair_keys if isinstance(obj, dict) else _same
                self.check_hashes(obj, *(keys(arg) for arg in materialised), kwargs)
            return method(*materialised, **kwargs)

        return guarded

    def _inspect_method(self, obj: Any, method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any) -> Any:
            if not all(cheap(arg) for arg in args):
                self._check_args(args, {})
                measure(obj, self.max_size)
            return method(*args)

        return guarded

    def _strip_method(self, obj: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(chars: Any = None) -> Any:
            # CPython looks each stripped character up in ``chars`` by a linear scan.
            if type(chars) is str and len(chars) > 64 and len(obj) * len(chars) > _SCAN_WORK:
                raise LimitExceeded(
                    f"strip() of {len(obj)} characters with {len(chars)} characters to "
                    "remove is too much work (use fewer distinct characters)"
                )
            return method(chars)

        return guarded

    def _setop_method(self, obj: Any, method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any) -> Any:
            materialised = [arg if hasattr(arg, "__len__") else self.safe_list(arg) for arg in args]
            self._check_args(tuple(materialised), {})
            self.check_hashes(obj, *materialised)
            result = method(*materialised)
            self.produced(result)
            return result

        return guarded

    def check_hashes(self, *groups: Any) -> None:
        """Refuse building a set or dict from many different values sharing one hash."""
        if sum(len(group) for group in groups) < HASH_CHECK_FROM:
            return
        values = [item for group in groups for item in group]
        measure(values, self.max_size)
        problem = hash_flood(values)
        if problem is not None:
            raise LimitExceeded(problem)

    def _sort_method(self, obj: list[Any], method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*, key: Any = None, reverse: Any = False) -> None:
            measure(obj, self.max_size)
            obj.sort(key=self._measured_key(key), reverse=reverse)

        return guarded

    def _strftime_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(pattern: Any) -> Any:
            if type(pattern) is str:
                self.check_size(len(pattern) * 64, "strftime()")
            return method(pattern)

        return guarded

    def _measured_key(self, key: Any) -> Any:
        if key is None:
            return None

        def measured(item: Any) -> Any:
            value = key(item)
            if type(value) not in FLAT:
                measure(value, self.max_size)
            return value

        return measured

    def get_item(self, obj: Any, key: Any) -> Any:
        kind = type(key)
        if kind is slice:
            if isinstance(obj, type):
                raise Refused(f"subscripting the type {obj.__name__} is not allowed")
            result = obj[key]
            self.produced(result)
            return result
        if kind not in FLAT:
            measure(key, self.max_size)
        if type(obj) not in (dict, list, tuple, str) and isinstance(obj, type):
            raise Refused(f"subscripting the type {obj.__name__} is not allowed")
        return obj[key]

    def write(self, obj: Any) -> Any:
        if self.mutable and isinstance(obj, (dict, list)):
            return obj
        if not self.mutable:
            raise Refused("expressions may not change data; use a script task")
        raise Refused(f"cannot change items of a value of type {type_name(obj)}")

    def hashable(self, key: Any) -> Any:
        """Guard a set element or dict key built by a literal or comprehension."""
        if type(key) not in FLAT:
            measure(key, self.max_size)
        return key

    def spread(self, value: Any) -> Any:
        """Guard ``*value`` and ``**value`` in literals: the copy is charged."""
        if hasattr(value, "__len__"):
            size = len(value)
            self.check_size(size, "unpacking")
            if size >= _BULK:
                self.charge(size)
        return value

    def apply(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        size = len(args) + len(kwargs)
        if size >= _BULK:
            self.check_size(size, "unpacking arguments")
            self.charge(size)
        return func(*args, **kwargs)

    # -- operators ------------------------------------------------------------------------------

    def binop(self, op: str, left: Any, right: Any) -> Any:
        lt, rt = type(left), type(right)
        if op == "+":
            if lt in _NUMBERS and rt in _NUMBERS:
                return left + right
            if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
                self.check_size(len(left) + len(right), '"+"')
            result = left + right
        elif op == "*":
            if lt in _NUMBERS and rt in _NUMBERS:
                if lt is not float and rt is not float:
                    bits = left.bit_length() + right.bit_length()
                    self._check_bits(bits)
                return left * right
            if rt in _INTS and isinstance(left, _SEQUENCES):
                self.check_size(len(left) * max(right, 0), '"*"')
            elif lt in _INTS and isinstance(right, _SEQUENCES):
                self.check_size(len(right) * max(left, 0), '"*"')
            result = left * right
        elif op == "**":
            if lt in _INTS and rt in _INTS and right > 0 and abs(left) > 1:
                bits = right if right > self.max_int_bits else right * math.log2(abs(left))
                self._check_bits(bits)
            return left**right
        elif op == "<<":
            if lt in _INTS and rt in _INTS and left != 0 and right > 0:
                self._check_bits(left.bit_length() + right)
            return left << right
        elif op == "%" or op == "//":
            if lt in _INTS and rt in _INTS:
                if right:
                    self._check_division(left.bit_length(), right.bit_length())
                return left % right if op == "%" else left // right
            if op == "%" and isinstance(left, (str, bytes)):
                self._check_percent(left, right)
            result = left % right if op == "%" else left // right
        elif op in _SET_OPS:
            if lt in _NUMBERS and rt in _NUMBERS:
                return _SET_OPS[op](left, right)
            if hasattr(left, "__len__") and hasattr(right, "__len__") and lt is not str:
                self.check_size(len(left) + len(right), f'"{op}"')
                if isinstance(left, _HASHED) or isinstance(right, _HASHED):
                    self.check_hashes(left, right)
            result = _SET_OPS[op](left, right)
        else:
            return _PLAIN_BINOPS[op](left, right)
        self.produced(result)
        return result

    def _check_division(self, left_bits: int, right_bits: float) -> None:
        if (
            left_bits > 4096
            and right_bits > 4096
            and division_cost(left_bits, int(right_bits)) > MAX_DIVISION_WORK
        ):
            raise LimitExceeded(
                f"dividing a {left_bits}-bit number by a {right_bits:.0f}-bit number "
                "is too much work"
            )

    def _check_bits(self, bits: float) -> None:
        if bits > self.max_int_bits:
            raise LimitExceeded(
                f"the result would be a number of about {bits:.0f} bits "
                f"(limit {self.max_int_bits} bits)"
            )

    def _check_percent(self, template: str | bytes, args: Any) -> None:
        text = template.decode("latin-1") if isinstance(template, bytes) else template
        size = len(text)
        for match in _PERCENT_SPEC.finditer(text):
            width, precision, _conversion = match.groups()
            if width == "*" or precision == "*":
                raise Refused('"*" widths in %-formatting are not allowed')
            if len(width or "") > 9 or len(precision or "") > 9:
                raise LimitExceeded(f"the %-format asks for more than {self.max_size} characters")
            size += int(width or 0) + int(precision or 0)
        if type(args) not in FLAT:
            size += measure(args, self.max_size)
        elif isinstance(args, (str, bytes)):
            size += len(args)
        self.check_size(size, "%-formatting")

    def inplacevar(self, op: str, target: Any, value: Any) -> Any:
        if type(target) in _NUMBERS and type(value) in _NUMBERS:
            if op == "+=":
                return target + value
            if op == "-=":
                return target - value
        base = op[:-1]
        in_place = _IN_PLACE.get(base)
        if in_place is not None and isinstance(target, (list, set, dict)):
            if not hasattr(value, "__len__"):
                value = self.safe_list(value)
            if type(value) not in FLAT:
                measure(value, self.max_size)
            self.check_size(len(target) + len(value), f'"{op}"')
            if len(value) >= _BULK:
                self.charge(len(value))
            if isinstance(target, set | dict):
                self.check_hashes(target, value)
            return in_place(target, value)
        if base in ("+", "*", "**", "<<", "%", "|", "^", "-", "&", "//"):
            return self.binop(base, target, value)
        if base == "/" or base == ">>":
            return _PLAIN_BINOPS[base](target, value)
        raise Refused(f'the operator "{op}" is not allowed')  # pragma: no cover

    def augitem(self, obj: Any, key: Any, op: str, value: Any) -> None:
        target = self.write(obj)
        current = self.get_item(target, key)
        target[key] = self.inplacevar(op, current, value)

    def compare(self, op: str, left: Any, right: Any) -> Any:
        if op == "in" or op == "not in":
            # A lookup hashes ``left``; a scan compares it with every item.
            if type(right) in FLAT or cheap(left):
                return _CMP[op](left, right)
            if hashed_lookup(right):
                self.ensure_flat_or_measured(left)
                return _CMP[op](left, right)
        elif type(left) in FLAT or type(right) in FLAT:
            return _CMP[op](left, right)
        measure(left, self.max_size)
        measure(right, self.max_size)
        return _CMP[op](left, right)

    def fmt(self, value: Any, conversion: int, spec: Any) -> str:
        """One ``{value!conversion:spec}`` field of an f-string (or of ``str.format``)."""
        if type(spec) is str and spec:
            for digits in _DIGITS.findall(spec):
                if len(digits) > 9 or int(digits) > self.max_size:
                    raise LimitExceeded(
                        f'the format "{spec[:40]}" asks for more than {self.max_size} characters'
                    )
        if type(value) not in FLAT:
            measure(value, self.max_size)
        elif isinstance(value, date) and type(spec) is str:
            self.check_size(len(spec) * 64, "strftime()")
        code = _CONVERSIONS.get(conversion, "")
        if code == "s":
            value = str(value)
        elif code == "r":
            value = repr(value)
        elif code == "a":
            value = ascii(value)
        result = format(value, spec)
        self.produced(result)
        return result

    # -- builtins -------------------------------------------------------------------------------

    def safe_range(self, *args: Any) -> range:
        result = range(*args)
        try:
            size = len(result)
        except OverflowError:
            size = self.max_size + 1
        self.check_size(size, "range()")
        return result

    def safe_str(self, *args: Any) -> str:
        if len(args) == 1 and type(args[0]) not in FLAT:
            measure(args[0], self.max_size)
        result = str(*args)
        self.produced(result)
        return result

    def _sized_input(self, iterable: Any, what: str, measured: bool) -> Any:
        if isinstance(iterable, (str, range)):
            self.check_size(len(iterable), what)
            return iterable
        if measured and hasattr(iterable, "__len__"):
            measure(iterable, self.max_size)
        elif hasattr(iterable, "__len__"):
            self.check_size(len(iterable), what)
        return iterable

    def safe_list(self, iterable: Iterable[Any] = ()) -> list[Any]:
        result = list(self._sized_input(iterable, "list()", measured=False))
        self.produced(result)
        return result

    def safe_tuple(self, iterable: Iterable[Any] = ()) -> tuple[Any, ...]:
        result = tuple(self._sized_input(iterable, "tuple()", measured=False))
        self.produced(result)
        return result

    def safe_set(self, iterable: Iterable[Any] = ()) -> set[Any]:
        result = set(self._hashed_items(iterable, "set()"))
        self.produced(result)
        return result

    def safe_frozenset(self, iterable: Iterable[Any] = ()) -> frozenset[Any]:
        result = frozenset(self._hashed_items(iterable, "frozenset()"))
        self.produced(result)
        return result

    def _hashed_items(self, iterable: Any, what: str) -> Any:
        """The items of ``iterable``, measured and checked for a hash flood, ready to hash."""
        items = self._sized_input(iterable, what, measured=True)
        if not hasattr(items, "__len__"):
            items = [self.hashable(item) for item in items]
            self.check_size(len(items), what)
        if not isinstance(items, set | frozenset | range | str):
            self.check_hashes(items)
        return items

    def spread_hashed(self, value: Any) -> Any:
        """Guard ``{*value}``: the items are hashed."""
        return self._hashed_items(self.spread(value), "unpacking")

    def safe_dict(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        if args:
            source = self._sized_input(args[0], "dict()", measured=True)
            if not hasattr(source, "__len__"):
                source = [self.hashable(pair) for pair in source]
                self.check_size(len(source), "dict()")
            if not isinstance(source, dict):
                self.check_hashes(_pair_keys(source))
            result = dict(source, **kwargs)
        else:
            result = dict(**kwargs)
        self.produced(result)
        return result

    def safe_sorted(self, iterable: Iterable[Any], *, key: Any = None, reverse: Any = False) -> Any:
        items = list(iterable)
        measure(items, self.max_size)
        result = sorted(items, key=self._measured_key(key), reverse=reverse)
        self.produced(result)
        return result

    def _extreme(self, chooser: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if len(args) == 1:
            items = list(args[0])
            measure(items, self.max_size)
            args = (items,)
        else:
            measure(args, self.max_size)
        if "key" in kwargs:
            kwargs["key"] = self._measured_key(kwargs["key"])
        return chooser(*args, **kwargs)

    def safe_min(self, *args: Any, **kwargs: Any) -> Any:
        return self._extreme(min, args, kwargs)

    def safe_max(self, *args: Any, **kwargs: Any) -> Any:
        return self._extreme(max, args, kwargs)

    def safe_sum(self, iterable: Iterable[Any], start: Any = 0) -> Any:
        if type(start) not in _NUMBERS:
            raise Refused("sum() only adds numbers; use list methods or str.join() otherwise")
        if hasattr(iterable, "__len__") and not isinstance(iterable, range):
            measure(iterable, self.max_size)
        total = start
        deadline = self.deadline
        monotonic = time.monotonic
        for item in iterable:
            if type(item) not in _NUMBERS:
                raise Refused(f"sum() only adds numbers, not {type_name(item)}")
            total += item
            if type(total) is int and total.bit_length() > self.max_int_bits:
                raise LimitExceeded(f"sum() would exceed {self.max_int_bits} bits")
            if monotonic() > deadline:  # each big-number addition is C work
                self._exceeded()
        self.produced(total)
        return total

    def safe_round(self, number: Any, ndigits: Any = None) -> Any:
        if ndigits is None:
            return round(number)
        if type(number) in _INTS and type(ndigits) in _INTS and ndigits < 0:
            bits = number.bit_length()
            if -ndigits * _LOG2_10 > bits + 1:
                return 0  # 10**-ndigits > 2*|number|: CPython would build 10**-ndigits first
            self._check_division(bits, -ndigits * _LOG2_10)
        return round(number, ndigits)

    def safe_int(self, *args: Any, **kwargs: Any) -> int:
        result = int(*args, **kwargs)
        if result.bit_length() > self.max_int_bits:
            raise LimitExceeded(f"a number bigger than {self.max_int_bits} bits is not allowed")
        return result

    def safe_zip(self, *iterables: Any, **kwargs: Any) -> Any:
        """``zip`` builds a tuple of all its arguments per item: bound the whole output."""
        lengths = [len(each) for each in iterables if hasattr(each, "__len__")]
        if lengths and len(iterables) > 1:
            size = min(lengths) * len(iterables)
            if size > self.allocation_limit:
                raise LimitExceeded(
                    f"zip() would make {size} elements; the limit is {self.allocation_limit}"
                )
        return zip(*iterables, **kwargs)  # noqa: B905 - zip's own meaning

    def safe_isinstance(self, obj: Any, kinds: Any) -> bool:
        return isinstance(obj, self._types(kinds))

    def _types(self, kinds: Any) -> type | tuple[type, ...]:
        if isinstance(kinds, tuple):
            return tuple(self._one_type(kind) for kind in kinds)
        return self._one_type(kinds)

    def _one_type(self, kind: Any) -> type:
        mapped = _WRAPPED_TYPES.get(getattr(kind, "__name__", ""))
        if mapped is not None and getattr(kind, "__self__", None) is self:
            return mapped
        if isinstance(kind, type) and kind in SAFE_TYPES:
            return kind
        raise Refused("isinstance() only accepts the built-in data types and exception types")

    # -- the environment ------------------------------------------------------------------------

    def builtins(self) -> dict[str, Any]:
        names = dict(STATIC_BUILTINS)
        names.update(
            range=self.safe_range,
            str=self.safe_str,
            list=self.safe_list,
            tuple=self.safe_tuple,
            set=self.safe_set,
            frozenset=self.safe_frozenset,
            dict=self.safe_dict,
            sorted=self.safe_sorted,
            min=self.safe_min,
            max=self.safe_max,
            sum=self.safe_sum,
            round=self.safe_round,
            int=self.safe_int,
            zip=self.safe_zip,
            isinstance=self.safe_isinstance,
        )
        return names

    def guards(self) -> dict[str, Any]:
        return {
            "__builtins__": self.builtins(),
            "_getattr_": self.get_attribute,
            "_getitem_": self.get_item,
            "_getiter_": self.getiter,
            "_write_": self.write,
            "_inplacevar_": self.inplacevar,
            "_unpack_sequence_": self.unpack_sequence,
            "_iter_unpack_sequence_": self.iter_unpack_sequence,
            "_apply_": self.apply,
            "_print_": _refuse_print,
            "_print": _refuse_print,
            "__metaclass__": _refuse_class,
            "_step_": self.step,
            "_binop_": self.binop,
            "_compare_": self.compare,
            "_cmpok_": self.ensure_flat_or_measured,
            "_augitem_": self.augitem,
            "_fmt_": self.fmt,
            "_hashable_": self.hashable,
            "_spread_": self.spread,
            "_spreadset_": self.spread_hashed,
        }


def _pair_keys(value: Any) -> Any:
    """The keys ``dict(value)`` or ``dict.update(value)`` would hash."""
    if isinstance(value, dict):
        return value
    return [pair[0] for pair in value if type(pair) in (list, tuple) and pair]


def _same(value: Any) -> Any:
    return value


def _refuse_print(*args: Any, **kwargs: Any) -> Any:
    raise Refused("print() is not available in scripts")


def _refuse_class(*args: Any, **kwargs: Any) -> Any:
    raise Refused("class definitions are not allowed")


SAFE_EXCEPTIONS: Final[tuple[type[Exception], ...]] = (
    Exception,
    ArithmeticError,
    LookupError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    ZeroDivisionError,
)
SAFE_TYPES: Final[frozenset[type]] = frozenset(
    {str, int, float, bool, list, dict, tuple, set, frozenset, NoneType, datetime, date, timedelta}
    | set(SAFE_EXCEPTIONS)
)
_WRAPPED_TYPES: Final[dict[str, type]] = {
    "safe_int": int,
    "safe_str": str,
    "safe_list": list,
    "safe_tuple": tuple,
    "safe_set": set,
    "safe_frozenset": frozenset,
    "safe_dict": dict,
    "safe_range": range,
}
STATIC_BUILTINS: Final[dict[str, Any]] = {
    "len": len,
    "abs": abs,
    "any": any,
    "all": all,
    "enumerate": enumerate,
    "reversed": reversed,
    "bool": bool,
    "float": float,
    **{kind.__name__: kind for kind in SAFE_EXCEPTIONS},
}
