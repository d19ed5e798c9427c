"""Checks made before C code does work that grows faster than the data it is given (private to
the sandbox).

The step and time limits of a :class:`~engine.sandbox.guards.Run` are checked between Python
operations; one builtin call holds the GIL until it returns. So every operation whose C work
is not bounded by the size of its operands must be checked here first:

* hash floods: building a set or dict from many *different* values that share one hash (ints,
  floats and tuples have predictable hashes: ``i * (2**61 - 1)`` all hash to 0) makes every
  insertion walk the whole chain, so ``set(values)`` is quadratic. :func:`hash_flood` counts
  hashes in C and refuses more than :data:`MAX_SAME_HASH` different values sharing one;
* big-integer division (``//``, ``%``, ``round(x, -n)``) is quadratic in the number of digits:
  :func:`division_cost` estimates it before the work;
* int ↔ decimal text (``str(10**300000)``, ``int('9' * 10**6)``) is quadratic: the interpreter's
  own limit (4,300 digits, Python ≥ 3.11) is kept on — :func:`keep_int_text_limit` restores it
  if the environment switched it off (``PYTHONINTMAXSTRDIGITS=0``);
* membership and counting (``x in items``, ``items.count(x)``) compare ``x`` with every item:
  cheap when ``x`` is short (:func:`cheap`), otherwise the items are measured first.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, Final

MAX_SAME_HASH: Final = 64
"""Different values that may share one hash in a set or dict built in one operation."""

HASH_CHECK_FROM: Final = 256
"""Sets and dicts smaller than this are built without counting hashes (at most 256² probes)."""

MAX_DIVISION_WORK: Final = 20_000_000
"""Digit operations one big-integer division may cost (about 20 ms)."""

_DIGIT_BITS: Final = 30
_CHEAP_LENGTH: Final = 256
_CHEAP_INT: Final = 1 << 256
_HASHED_CONTAINERS: Final[tuple[type, ...]] = (
    set,
    frozenset,
    dict,
    range,
    type({}.keys()),
    type({}.items()),
)
_CHEAP_KINDS: Final = frozenset({float, bool, type(None), complex, datetime, date, timedelta})


def hash_flood(items: Iterable[Any]) -> str | None:
    """Describe the problem if more than :data:`MAX_SAME_HASH` *different* values in ``items``
    share one hash (equal values may repeat freely); ``None`` if there is none. ``items`` must
    be measured (no deep or huge values): hashing them is then bounded."""
    values = items if isinstance(items, list | tuple) else list(items)
    if len(values) < HASH_CHECK_FROM:
        return None
    counts = Counter(map(hash, values))
    crowded = {value for value, number in counts.items() if number > MAX_SAME_HASH}
    if not crowded:
        return None
    distinct: dict[int, list[Any]] = {}
    for item in values:
        code = hash(item)
        if code not in crowded:
            continue
        seen = distinct.setdefault(code, [])
        if any(other is item or other == item for other in seen):
            continue
        seen.append(item)
        if len(seen) > MAX_SAME_HASH:
            return (
                f"more than {MAX_SAME_HASH} different values share one hash "
                "(a set or dict of them would take quadratic time)"
            )
    return None


MAX_INT_TEXT_DIGITS: Final = 4300
"""Digits of the longest int converted to or from decimal text (the interpreter's default)."""


def keep_int_text_limit() -> None:
    """Turn the interpreter's limit on int ↔ decimal text conversion back on if it is off or
    looser than :data:`MAX_INT_TEXT_DIGITS` (it is process-wide; the default is this value)."""
    if not 0 < sys.get_int_max_str_digits() <= MAX_INT_TEXT_DIGITS:
        sys.set_int_max_str_digits(MAX_INT_TEXT_DIGITS)


def division_cost(dividend_bits: int, divisor_bits: int) -> int:
    """Digit operations of a schoolbook division (what CPython does for big integers)."""
    divisor = divisor_bits // _DIGIT_BITS + 1
    quotient = max(dividend_bits - divisor_bits, 0) // _DIGIT_BITS + 1
    return divisor * quotient


def cheap(value: Any) -> bool:
    """Whether comparing ``value`` with anything costs O(1) (short text, small numbers...)."""
    kind = type(value)
    if kind is str or kind is bytes:
        return len(value) <= _CHEAP_LENGTH
    if kind is int:
        return bool(-_CHEAP_INT < value < _CHEAP_INT)
    return kind in _CHEAP_KINDS


def hashed_lookup(container: Any) -> bool:
    """Whether ``x in container`` is a hash lookup or arithmetic, not a scan."""
    return isinstance(container, _HASHED_CONTAINERS)


__all__ = [
    "HASH_CHECK_FROM",
    "MAX_DIVISION_WORK",
    "MAX_INT_TEXT_DIGITS",
    "MAX_SAME_HASH",
    "cheap",
    "division_cost",
    "hash_flood",
    "hashed_lookup",
    "keep_int_text_limit",
]
