"""One builtin call or operator cannot bypass the sandbox's time limit by doing C work that
grows faster than its operands: big-number division and rounding, hash floods, scans with long
operands, deep keys, lazily built bulk and strip() are refused before the work starts.

The time limit here is long (30 s) and every case asserts the guard's own message, so a case
whose guard is missing fails (it ends on the time limit, or not at all) instead of passing.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.sandbox import Limits, Sandbox, SandboxRuntimeError, make_helpers

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
LONG = Limits(timeout_seconds=30.0, max_steps=200_000, max_size=1_000_000)

COLLIDING = "P = 2**61 - 1\nL = [i * P for i in range(5000)]\n"
BIG = "B = 7**350000\n"
LONG_TEXT = "s = 'a' * 999999\nt2 = s[:-1] + 'b'\n"
DEEP = "t = ()\nu = ()\nfor i in range(60):\n    t = (t, t)\n    u = (u, u)\n"
WIDE = "r = range(10**6)\n"

TOO_BIG = "is too big"
HASH = "share one hash"
DIVISION = "too much work"
ZIP = "zip() would make"

CASES: dict[str, tuple[str, str]] = {
    # big-number division is quadratic in the digits
    "floordiv": ("a = 7**356000\nx = a // 7**178000", DIVISION),
    "modulo": ("a = 7**356000\nx = a % (7**178000 + 1)", DIVISION),
    "floordiv_augmented": ("a = 7**356000\na //= 7**178000", DIVISION),
    "modulo_augmented": ("a = 7**356000\na %= 7**178000 + 1", DIVISION),
    "round_negative": ("x = round(7**350000, -150000)", DIVISION),
    # hash floods: many different values with one hash
    "set": (COLLIDING + "x = set(L)", HASH),
    "frozenset": (COLLIDING + "x = frozenset(L)", HASH),
    "set_literal_spread": (COLLIDING + "x = {*L}", HASH),
    "dict_of_pairs": (COLLIDING + "x = dict(zip(L, L))", HASH),
    "dict_of_list": (COLLIDING + "x = dict([(k, 1) for k in L])", HASH),
    "set_union": (COLLIDING + "x = set().union(L)", HASH),
    "set_intersection": (COLLIDING + "x = {1}.intersection(L)", HASH),
    "set_difference_update": (COLLIDING + "x = {1}\nx.symmetric_difference_update(L)", HASH),
    "set_update": (COLLIDING + "x = set()\nx.update(L)", HASH),
    "set_in_place_or": (COLLIDING + "x = set()\nx |= L", HASH),
    "dict_update": (COLLIDING + "x = {}\nx.update(zip(L, L))", HASH),
    "dict_views": (COLLIDING + "d = {}\nfor k in L[:200]:\n    d[k] = 1\nx = d.keys() | L", HASH),
    "unique_helper": (COLLIDING + "x = unique(L)", HASH),
    "tuples_of_colliding": (COLLIDING + "x = set([(k, 'a') for k in L])", HASH),
    "frozensets_as_keys": (COLLIDING + "x = dict([(frozenset([k]), 1) for k in L])", HASH),
    # scans compare a long operand with every item
    "in_list_big_int": (BIG + "L = [B] * 900000\nx = (B + 1) in L", TOO_BIG),
    "in_list_text": (LONG_TEXT + "L = [s] * 900000\nx = t2 in L", TOO_BIG),
    "not_in_tuple_text": (LONG_TEXT + "T = (s,) * 900000\nx = t2 not in T", TOO_BIG),
    "in_dict_values": (
        LONG_TEXT + "d = {i: s for i in range(5000)}\nx = t2 in d.values()",
        TOO_BIG,
    ),
    "list_count": (LONG_TEXT + "L = [s] * 900000\nx = L.count(t2)", TOO_BIG),
    "list_index": (LONG_TEXT + "L = [s] * 900000\nL.append(t2)\nx = L.index(t2)", TOO_BIG),
    "list_remove": (LONG_TEXT + "L = [s] * 900000\nL.append(t2)\nL.remove(t2)", TOO_BIG),
    "tuple_count": (BIG + "T = (B,) * 900000\nx = T.count(B + 1)", TOO_BIG),
    "max_big_ints": (BIG + "x = max([B, B + 1] * 450000)", TOO_BIG),
    "min_big_ints": (BIG + "x = min([B + 1, B] * 450000)", TOO_BIG),
    "sorted_big_ints": (BIG + "x = sorted([B + 1, B] * 450000)", TOO_BIG),
    "sum_big_ints": (BIG + "x = sum([B] * 900000)", TOO_BIG),
    "equal_lists": (BIG + "x = [B] * 900000 == [B + 0] * 900000", TOO_BIG),
    "startswith_tuple": (LONG_TEXT + "x = s.startswith((t2,) * 900000)", TOO_BIG),
    # deep shared tuples hash and compare as trees
    "store_key": (DEEP + "d = {}\nd[t] = 1", TOO_BIG),
    "delete_key": (DEEP + "d = {}\ndel d[t]", TOO_BIG),
    "augmented_key": (DEEP + "d = {}\nd[t] += 1", TOO_BIG),
    "get_key": (DEEP + "x = {}.get(t)", TOO_BIG),
    "in_dict": (DEEP + "x = t in {}", TOO_BIG),
    "in_set": (DEEP + "x = t in {1, 2}", TOO_BIG),
    "set_add": (DEEP + "x = set()\nx.add(t)", TOO_BIG),
    "set_literal": (DEEP + "x = {t}", TOO_BIG),
    "dict_literal": (DEEP + "x = {t: 1}", TOO_BIG),
    "dict_comprehension": (DEEP + "x = {k: 1 for k in [t]}", TOO_BIG),
    "compare": (DEEP + "x = t == u", TOO_BIG),
    "sort": (DEEP + "x = sorted([t, u])", TOO_BIG),
    # zip builds one tuple of all its arguments per item, lazily, in C
    "zip_list": (WIDE + "x = list(zip(*[r] * 1000))", ZIP),
    "zip_all": (WIDE + "x = all(zip(*[r] * 100000))", ZIP),
    "zip_sorted": (WIDE + "x = sorted(zip(*[r] * 100))", ZIP),
    "zip_join": (WIDE + "x = ''.join(zip(*[r] * 100))", ZIP),
    # strip() looks every stripped character up in its argument by a scan
    "strip": ("sep = 'a' * 499999 + 'b'\nx = ('b' * 499999).strip(sep)", DIVISION),
    "lstrip": ("sep = 'a' * 499999 + 'b'\nx = ('b' * 499999).lstrip(sep)", DIVISION),
    "rstrip": ("sep = 'a' * 499999 + 'b'\nx = ('b' * 499999).rstrip(sep)", DIVISION),
    # many medium containers: each under the size limit, together over the allocation budget
    "many_lists": ("x = [[0] * 1000 for i in range(100000)]", "in bulk"),
    "many_tuples": ("x = [(i,) * 100 for i in range(100000)]", "in bulk"),
    "many_strings": ("x = [str(i) * 100 for i in range(100000)]", "in bulk"),
    # conversions whose result is over the size limit
    "int_of_hex": ("x = int('f' * 300000, 16)", "bits is not allowed"),
}


def _sandbox() -> Sandbox:
    return Sandbox(helpers=make_helpers(lambda: NOW), limits=LONG)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bulk_work_is_refused_before_it_starts(name: str) -> None:
    source, reason = CASES[name]
    with pytest.raises(SandboxRuntimeError) as caught:
        _sandbox().execute(source, {})
    assert reason in caught.value.message
    assert "took longer" not in caught.value.message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("round(1, -10**8)", 0),
        ("round(-1, -10**18)", 0),
        ("round(True, -10**9)", 0),
        ("round(12345, -2)", 12300),
        ("round(5, -100)", 0),
        ("round(2.5)", 2),
        ("round(1.25, 1)", 1.2),
        ("10**50 // 7 % 1000", (10**50 // 7) % 1000),
        ("(7**4000) % (7**3000 + 1) > 0", True),
        ("int('ff', 16) + int(3.9) + int('11', base=2) + int()", 261),
        ("round(2.675, ndigits=2) + round(-7.5)", round(2.675, 2) - 8),
        ("isinstance(3, int) and not isinstance('3', int)", True),
    ],
)
def test_numbers_keep_their_meaning(source: str, expected: Any) -> None:
    assert _sandbox().evaluate(source, {}) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len(set(range(5000)))", 5000),
        ("len(set([7] * 100000))", 1),  # equal values may repeat freely
        ("len(set([2**61 - 1, 0] * 5000))", 2),  # two values sharing a hash, repeated
        ("len(dict(zip(range(3000), range(3000))))", 3000),
        ("len(set(range(3000)) | set(range(1000, 4000)))", 4000),
        ("len(set(range(3000)) - set(range(1000)))", 2000),
        ("len(set(range(3000)) & set(range(1000)))", 1000),
        ("len(unique([1, 2, 'a'] * 2000))", 3),
        ("sum(range(1000)) + sum([0.5, 0.5])", 499501.0),
        ("'b' in ['a', 'b'] and 3 not in (1, 2) and 'x' * 300 in ['x' * 300]", True),
        ("['x' * 300, 'y'].count('y' * 1) + ['x' * 300].index('x' * 300)", 1),
        ("'--ab--'.strip('-') + 'xxa'.lstrip('x') + 'bzz'.rstrip('z')", "abab"),
        ("len(list(zip(range(1000), range(1000), range(1000))))", 1000),
        ("max(7**400, 7**400 + 1) - 7**400", 1),
        ("{k: 1 for k in [(1, 2), (3, 4)]}[(3, 4)]", 1),
    ],
)
def test_common_work_is_unchanged(source: str, expected: Any) -> None:
    assert _sandbox().evaluate(source, {}) == expected


def test_a_script_still_assigns_keys_and_deletes_them() -> None:
    data: dict[str, Any] = {}
    _sandbox().execute(
        "d = {}\nfor i in range(300):\n    d[(i, str(i))] = i\ndel d[(0, '0')]\n"
        "n = len(d)\nk = [1, 2, 3]\ndel k[0:2]\nk[0] = 9\ndel d",
        data,
    )
    assert data["n"] == 299
    assert data["k"] == [9]


def test_shared_containers_count_every_occurrence_but_are_walked_once() -> None:
    # 2**22 leaves as a tree: over the limit even though only 22 tuples exist.
    with pytest.raises(SandboxRuntimeError) as caught:
        _sandbox().evaluate("len(str(x))", {"x": _shared_tree(22)})
    assert TOO_BIG in caught.value.message
    assert _sandbox().evaluate("len(str(x))", {"x": _shared_tree(10)}) > 2**10


def _shared_tree(depth: int) -> Any:
    tree: Any = (1,)
    for _ in range(depth):
        tree = (tree, tree)
    return tree


def test_an_outer_deadline_ends_a_script_before_its_own_limit() -> None:
    # The command's deadline (already passed here) stops the script at its first step, with
    # a message that names the command's budget, not the script's own 30 s limit.
    with pytest.raises(SandboxRuntimeError) as caught:
        _sandbox().execute("while True:\n    pass", {}, deadline=time.monotonic() - 1)
    assert "command's time budget" in caught.value.message
    with pytest.raises(SandboxRuntimeError) as caught:
        _sandbox().evaluate("sum(range(10**6))", {}, deadline=time.monotonic() - 1)
    assert "command's time budget" in caught.value.message
    assert _sandbox().evaluate("1 + 1", {}, deadline=time.monotonic() + 60) == 2


@pytest.mark.parametrize(
    "source", ["x = str(7**350000)", "x = int('9' * 600000)", "x = f'{7**350000}'"]
)
def test_int_text_conversion_stays_limited_even_if_the_environment_lifts_it(source: str) -> None:
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # as PYTHONINTMAXSTRDIGITS=0 would
    try:
        with pytest.raises(SandboxRuntimeError) as caught:
            _sandbox().execute(source, {})
        assert "Exceeds the limit" in caught.value.message
    finally:
        sys.set_int_max_str_digits(before)
