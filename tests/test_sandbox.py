"""The script sandbox: escapes are refused, resource bombs stop within the limits, legitimate
expressions and scripts work, and errors name the line. No test sleeps."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest

from engine.sandbox import (
    CALENDAR_HELPER_NAMES,
    Limits,
    Sandbox,
    SandboxRuntimeError,
    SandboxViolation,
    make_helpers,
    with_calendar,
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
SMALL = Limits(timeout_seconds=2.0, max_steps=5_000, max_size=10_000)
Refusal = (SandboxViolation, SandboxRuntimeError)


def _sandbox(limits: Limits = SMALL) -> Sandbox:
    return Sandbox(helpers=make_helpers(lambda: NOW, max_size=limits.max_size), limits=limits)


@pytest.fixture
def sandbox() -> Sandbox:
    return _sandbox()


def _data() -> dict[str, Any]:
    return {
        "severity": "red",
        "tier": "county",
        "amount": 1200,
        "items": [1, 2, 3],
        "tags": ["urgent", "family"],
        "name": "  张三 ",
        "case": {"id": "C-1", "parties": 2, "tmp": True},
        "people": [{"name": "b", "age": 40}, {"name": "a", "age": 30}],
        "filed_at": "2026-02-27T09:00:00+08:00",
    }


def _run(sandbox: Sandbox, source: str, context: dict[str, Any] | None = None) -> Any:
    """Run ``source`` as an expression if it parses as one, else as a script."""
    context = _data() if context is None else context
    try:
        compile(source, "<probe>", "eval")
    except SyntaxError:
        sandbox.execute(source, context)
        return context
    return sandbox.evaluate(source, context)


# ---------------------------------------------------------------------------------------------
# Escapes

ESCAPES: list[str] = [
    # class-hierarchy walks
    "().__class__.__base__.__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    '"".__class__.__mro__[1].__subclasses__()',
    "[c for c in ().__class__.__mro__]",
    "[].__class__.__base__.__subclasses__()[0]",
    "object.__subclasses__()",
    "(1).__class__",
    "items.__class__",
    "().__reduce_ex__(2)",
    "str.mro()",
    "dict.fromkeys(range(3))",
    "str.join",
    # functions, globals, builtins
    "(lambda: 0).__globals__",
    "(lambda: 0).__code__.co_consts",
    "len.__self__",
    "__builtins__",
    '__builtins__["open"]',
    "(lambda f=().__class__: f)()",
    "(lambda g=globals: g())()",
    # forbidden builtins, with and without string tricks
    'getattr((), "__cl" + "ass__")',
    'setattr(case, "x", 1)',
    "type(())",
    'type("X", (), {})',
    "vars()",
    "globals()",
    "locals()",
    "dir()",
    "super()",
    'memoryview(b"x")',
    'eval("1 + 1")',
    'exec("x = 1")',
    'compile("1", "f", "eval")',
    "breakpoint()",
    "help()",
    "input()",
    "isinstance(1, len)",
    'ｇetattr((), "x")',  # fullwidth letter: Python normalises it to getattr
    # Unicode look-alike dunders (NFKC turns them into __class__)
    "_＿class_＿",
    "()._＿class_＿",
    # imports
    '__import__("os").system("touch {path}")',
    "import os",
    "from os import system",
    # frames via generators and exceptions
    "(x for x in ()).gi_frame.f_back.f_globals",
    "(x for x in ()).gi_frame",
    "g = (x for x in [1])\nf = g.gi_code",
    "g = (x for x in [1])\nf = g.send",
    "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    f = e.__traceback__.tb_frame",
    "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    f = e.with_traceback",
    # str.format / format_map / f-string traversal
    '"{0.__class__.__mro__}".format(())',
    '"{x.__class__}".format(x=1)',
    '"{0[0].__class__}".format([1])',
    '"{x.__class__}".format(**{"x": 1})',
    '"{0.real}".format(1)',
    '"{x.__class__}".format_map({"x": 1})',
    'f"{().__class__}"',
    "f\"{'{0.__class__}'.format(1)}\"",
    '"%s" % (().__class__,)',
    # statements that are not allowed
    "@staticmethod\ndef f():\n    pass",
    "class A:\n    pass",
    "class A:\n    def __init__(self):\n        pass",
    "def f():\n    yield 1",
    "f = lambda: (yield)",
    'with open("{path}", "w") as f:\n    pass',
    "global x\nx = 1",
    "async def f():\n    pass",
    "match severity:\n    case 'red':\n        pass",
    'print("hello")',
    "case.x = 1",
    "items[0:1] = [9] * 5",
    "try:\n    x = 1\nexcept:\n    pass",
    "try:\n    x = 1\nfinally:\n    x = 2",
    # walrus tricks
    "[y := ().__class__]",
    "(__builtins__ := {})",
    "(x := getattr)",
    # file system
    'open("{path}", "w").write("pwned")',
    "open('/etc/passwd').read()",
    # changing data inside an expression
    "items.append(4)",
    "case.clear()",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_is_refused(sandbox: Sandbox, payload: str, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    source = payload.replace("{path}", str(target))
    context = _data()
    before = _data()
    with pytest.raises(Refusal) as caught:
        _run(sandbox, source, context)
    assert caught.value.args[0]  # says what was refused
    assert not target.exists()
    assert context == before  # no side effect on the task data


def test_there_are_enough_escape_payloads() -> None:
    assert len(ESCAPES) >= 25


@pytest.mark.parametrize(
    "payload",
    [
        "().__class__.__base__.__subclasses__()",
        "[c for c in ().__class__.__mro__]",
        'getattr((), "__cl" + "ass__")',
        "type(())",
        '__import__("os")',
        "import os",
        "(x for x in ()).gi_frame.f_back",
        'f"{().__class__}"',
        "_＿class_＿",
        "class A:\n    pass",
        "vars()",
        'open("/etc/passwd")',
    ],
)
def test_dunder_and_import_escapes_are_refused_at_deploy(sandbox: Sandbox, payload: str) -> None:
    mode: Literal["eval", "exec"] = (
        "exec" if "\n" in payload or payload.startswith("import") else "eval"
    )
    with pytest.raises(SandboxViolation):
        sandbox.compile(payload, mode)


def test_task_data_cannot_replace_the_guards(sandbox: Sandbox) -> None:
    import builtins

    context = {
        **_data(),
        "_getattr_": getattr,
        "_write_": lambda obj: obj,
        "__builtins__": builtins,
    }
    with pytest.raises(SandboxRuntimeError, match="only allowed in scripts"):
        sandbox.evaluate("items.append(4)", context)
    with pytest.raises(SandboxRuntimeError, match="unknown name 'chr'"):
        sandbox.evaluate("chr(65)", context)  # not a safe builtin, whatever the data says
    assert context["items"] == [1, 2, 3]


# ---------------------------------------------------------------------------------------------
# Resource bombs

BOMBS: list[str] = [
    '"a" * 10**10',
    "[0] * 10**9",
    "(0,) * 10**9",
    "10 ** 10**8",
    "2 ** 10**12",
    "1 << 10**9",
    '"x".ljust(10**10)',
    '"x".rjust(10**10)',
    '"x".center(10**10)',
    '"x".zfill(10**10)',
    '"\\t".expandtabs(10**9)',
    '("a" * 5000).replace("", "bb")',
    '"-".join(["x" * 5000] * 3)',
    "range(10**12)",
    "[x for x in range(10**12)]",
    "sum(1 for _ in range(10**12))",
    "list(range(10**9))",
    '"{:>10000000000}".format(1)',
    'f"{1:>{10**10}}"',
    '"%10000000000d" % 1',
    '"%*d" % (10**9, 1)',
    "[[i for i in range(1000)] for j in range(1000)]",
    "str([[0] * 1000] * 1000)",
    'f"{[[0] * 1000] * 1000}"',
    "(lambda f: f(f))(lambda f: f(f))",
    # scripts
    "while True:\n    pass",
    "while True:\n    try:\n        x = 1 / 0\n    except ZeroDivisionError:\n        pass",
    "x = 0\nwhile x >= 0:\n    x += 1\n    continue",
    "def f(n):\n    return f(n + 1)\nf(0)",
    "def f(n):\n    return 1 if n == 0 else f(n - 1) + f(n - 1)\nx = f(60)",
    "f = lambda n: 1 if n == 0 else f(n - 1) + f(n - 1)\nx = f(60)",
    "x = 2\nfor i in range(100):\n    x = x * x",
    's = "ab"\nfor i in range(100):\n    s = s + s',
    's = "ab"\nfor i in range(100):\n    s += s',
    "l = [1]\nfor i in range(100):\n    l.extend(l)",
    "l = [1]\nfor i in range(100):\n    l += l",
    "d = {}\nfor i in range(10**6):\n    d[i] = i",
    "acc = []\nfor i in range(1000):\n    acc.append(list(range(5000)))",
    "acc = []\nfor i in range(1000):\n    acc.append([0] * 5000)",
    "acc = []\nfor i in range(1000):\n    acc.append(('x' * 5000).upper())",
    # shared structures that would explode when compared, hashed, sorted or printed
    "a = [0] * 100\nb = [a] * 100\nc = [b] * 100\nd = [[[0] * 100] * 100] * 100\nx = c == d",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\ns = {t}",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\nd = {t: 1}",
    "t = (1,)\nu = (1,)\nfor i in range(40):\n    t = (t, t)\n    u = (u, u)\nx = t == u",
    "t = (1,)\nu = (1,)\nfor i in range(40):\n    t = (t, t)\n    u = (u, u)\nx = sorted([t, u])",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\nx = str(t)",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\nx = '%s' % (t,)",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\nx = '{}'.format(t)",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\nx = [t].count((t, t))",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\nx = set([t])",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\nx = join([t])",
    "t = (1,)\nfor i in range(40):\n    t = (t, t)\nx = unique([t, t])",
    # values that cannot be stored back in the task data
    "x = []\nx.append(x)",
    "x = [[0] * 1000] * 1000",
]


@pytest.mark.parametrize("payload", BOMBS)
def test_resource_bomb_is_refused_quickly(payload: str) -> None:
    sandbox = _sandbox(Limits(timeout_seconds=2.0, max_steps=5_000, max_size=10_000))
    started = time.monotonic()
    with pytest.raises(Refusal) as caught:
        _run(sandbox, payload)
    assert time.monotonic() - started < 2.0
    assert caught.value.args[0]


def test_the_deadline_stops_a_loop_when_steps_are_plentiful() -> None:
    sandbox = _sandbox(Limits(timeout_seconds=0.05, max_steps=10**12, max_size=10_000))
    started = time.monotonic()
    with pytest.raises(SandboxRuntimeError, match=r"took longer than the limit of 0\.05 seconds"):
        sandbox.execute("while True:\n    pass", {})
    assert time.monotonic() - started < 1.0


def test_limits_work_outside_the_main_thread() -> None:
    sandbox = _sandbox(Limits(timeout_seconds=0.05, max_steps=10**12, max_size=10_000))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            sandbox.execute("x = 0\nwhile True:\n    x = x + 1", {})
        except SandboxRuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert errors[0].args[0].startswith("line 2: took longer")


@pytest.mark.parametrize(
    "script",
    [
        # limits are not exceptions a handler can catch
        "def f():\n    try:\n        while True:\n            pass\n"
        "    except Exception:\n        return 1\n\nx = f()",
        "for j in range(2):\n    try:\n        while True:\n            pass\n"
        "    except ZeroDivisionError:\n        pass",
    ],
)
def test_scripts_cannot_swallow_a_limit(script: str) -> None:
    sandbox = _sandbox()
    with pytest.raises(SandboxRuntimeError, match="too many steps"):
        sandbox.execute(script, {})


def test_steps_count_loops_comprehensions_and_calls() -> None:
    sandbox = _sandbox(Limits(timeout_seconds=5, max_steps=100, max_size=10_000))
    assert sandbox.evaluate("[i for i in range(90)][-1]", {}) == 89
    with pytest.raises(SandboxRuntimeError, match="too many steps: more than 100"):
        sandbox.evaluate("[i for i in range(101)]", {})
    with pytest.raises(SandboxRuntimeError, match="too many steps"):
        sandbox.execute("def f(n):\n    return n\nfor i in range(60):\n    f(i)", {})


# ---------------------------------------------------------------------------------------------
# Legitimate expressions and scripts

EXPRESSIONS: list[tuple[str, Any]] = [
    ('severity == "red" and tier in ("county",)', True),
    ('severity == "red" and tier in ("city", "province")', False),
    ('amount >= 1000 or "urgent" in tags', True),
    ("0 < amount <= 5000", True),
    ("len(items) > 2 and items[-1] == 3", True),
    ("items[1:]", [2, 3]),
    ("items[::-1]", [3, 2, 1]),
    ("[i * 2 for i in items if i % 2]", [2, 6]),
    ("{p['name']: p['age'] for p in people}", {"b": 40, "a": 30}),
    ("{i % 2 for i in items}", {0, 1}),
    ("sum(i for i in items)", 6),
    ("max(items) - min(items)", 2),
    ("sorted(people, key=lambda p: p['age'])[0]['name']", "a"),
    ("[k for k, v in case.items() if v is True]", ["tmp"]),
    ("name.strip()", "张三"),
    ('case.get("missing", 0)', 0),
    ('"high" if amount > 1000 else "low"', "high"),
    ("not tags", False),
    ("any(t.startswith('urg') for t in tags)", True),
    ("all(isinstance(i, int) for i in items)", True),
    ("isinstance(name, (str, int))", True),
    ("f\"{case['id']}-{amount:>6}\"", "C-1-  1200"),
    ('f"{amount!r}"', "1200"),
    ('"%s/%d" % (severity, amount)', "red/1200"),
    ('"{} {x}".format(severity, x=tier)', "red county"),
    ('"{0:>5}|".format(amount)', " 1200|"),
    ("str(items)", "[1, 2, 3]"),
    ("int('42') + float('0.5') + round(2.6)", 45.5),
    ("list(zip(items, tags))", [(1, "urgent"), (2, "family")]),
    ("list(enumerate(tags))[1]", (1, "family")),
    ("list(reversed(items))", [3, 2, 1]),
    ("abs(-3) + len({'a': 1})", 4),
    ("(x := amount // 100) and x * 2", 24),
    ("[*items, *tags][3]", "urgent"),
    ("{**case, 'id': 'C-2'}['id']", "C-2"),
    ("10 ** 3 + (1 << 4) + 7 % 4", 1019),
    ("'ab' * 3", "ababab"),
    ("items + [4]", [1, 2, 3, 4]),
    ("set(tags) | {'x'} == {'urgent', 'family', 'x'}", True),
    ("tuple(items).count(2)", 1),
    ("items.index(3)", 2),
    ("'a,b'.split(',')", ["a", "b"]),
    ("'-'.join(tags)", "urgent-family"),
    ("None is None", True),
]


@pytest.mark.parametrize(("expression", "expected"), EXPRESSIONS)
def test_legitimate_expression(sandbox: Sandbox, expression: str, expected: Any) -> None:
    context = _data()
    assert sandbox.evaluate(expression, context) == expected
    assert context == _data()  # expressions never change the task data


def test_expressions_may_be_indented_or_span_lines(sandbox: Sandbox) -> None:
    assert sandbox.evaluate('\n   severity == "red"\n', _data()) is True
    assert sandbox.evaluate("(amount\n  > 1000)", _data()) is True


@pytest.mark.parametrize(
    "script",
    [
        "\n    total = 0\n    for i in items:\n        total += i\n",  # indented as in XML
        "total = 0\n    for i in items:\n        total += i\n",  # ... and then stripped
    ],
)
def test_scripts_indented_as_in_xml_work(sandbox: Sandbox, script: str) -> None:
    context = _data()
    sandbox.execute(script, context)
    assert context["total"] == 6


def test_script_mutates_dicts_and_lists_and_assigns_names(sandbox: Sandbox) -> None:
    context = _data()
    sandbox.execute(
        """
        case["status"] = "closed"
        case["parties"] += 1
        del case["tmp"]
        items.append(4)
        items[0] = 10
        counts = {}
        for t in tags + ["urgent"]:
            counts[t] = counts.get(t, 0) + 1
        total = 0
        for i in items:
            total += i
        first, *rest = items
        def double(n):
            return n * 2
        doubled = [double(i) for i in items]
        try:
            ratio = 1 / 0
        except ZeroDivisionError:
            ratio = None
        label = f"{case['id']}:{total}"
        while total > 10:
            total -= 5
        """,
        context,
    )
    assert context["case"] == {"id": "C-1", "parties": 3, "status": "closed"}
    assert context["items"] == [10, 2, 3, 4]
    assert context["counts"] == {"urgent": 2, "family": 1}
    assert context["total"] == 9
    assert (context["first"], context["rest"]) == (10, [2, 3, 4])
    assert context["doubled"] == [20, 4, 6, 8]
    assert context["ratio"] is None
    assert context["label"] == "C-1:19"
    assert "double" not in context  # functions are not task data


def test_script_deletes_names_and_stores_datetimes_as_iso(sandbox: Sandbox) -> None:
    context = _data()
    sandbox.execute("del tags\ndue = parse_datetime(filed_at)\nhour = due.hour", context)
    assert "tags" not in context
    assert context["due"] == "2026-02-27T09:00:00+08:00"
    assert context["hour"] == 9


def test_script_values_must_be_json(sandbox: Sandbox) -> None:
    context = _data()
    with pytest.raises(SandboxRuntimeError, match="variable 'seen' holds a value of type set"):
        sandbox.execute("seen = set(tags)", context)
    assert "seen" not in context


def test_script_errors_leave_names_unassigned(sandbox: Sandbox) -> None:
    context = _data()
    with pytest.raises(SandboxRuntimeError):
        sandbox.execute("new = 1\nboom = 1 / 0", context)
    assert "new" not in context


def test_raise_in_a_script_reports_the_message(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxRuntimeError) as caught:
        sandbox.execute("x = 1\nif x:\n    raise ValueError('amount missing')", {})
    assert caught.value.line == 3
    assert caught.value.message == "line 3: ValueError: amount missing"


# ---------------------------------------------------------------------------------------------
# Line numbers and messages


def test_compile_errors_name_the_line(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxViolation) as caught:
        sandbox.compile("x = 1\ny = x.__class__\n", "exec")
    assert caught.value.line == 2
    assert caught.value.message.startswith('line 2: "__class__" is an invalid attribute name')

    with pytest.raises(SandboxViolation) as caught:
        sandbox.compile("x = 1\n\nif x\n    y = 2", "exec")
    assert caught.value.line == 3
    assert "syntax error" in caught.value.message


def test_runtime_errors_name_the_line(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxRuntimeError) as caught:
        sandbox.execute("a = 1\nb = [a]\n\nc = b[5]\n", {})
    assert caught.value.line == 4
    assert caught.value.message == "line 4: IndexError: list index out of range"

    with pytest.raises(SandboxRuntimeError) as caught:
        sandbox.execute("x = 1\ny = missing + 1", {})
    assert caught.value.line == 2
    assert "unknown name 'missing'" in caught.value.message

    with pytest.raises(SandboxRuntimeError) as caught:
        sandbox.execute("x = 1\nwhile True:\n    x = 2\n", {})
    assert caught.value.line == 2
    assert "too many steps" in caught.value.message

    with pytest.raises(SandboxRuntimeError) as caught:
        sandbox.execute("x = 1\ny = 2\nz = 'a' * 10**9", {})
    assert caught.value.line == 3
    assert '"*" would make 1000000000 elements or characters' in caught.value.message


def test_refused_attributes_are_explained(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxRuntimeError, match='attribute "encode" is not allowed on a value'):
        sandbox.evaluate("name.encode()", _data())
    with pytest.raises(SandboxRuntimeError, match="format field"):
        sandbox.evaluate('"{0.__class__}".format(1)', {})


def test_suspicious_code_is_refused_without_leaking_warnings(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxViolation, match='"is" with a literal'):
        sandbox.compile("severity is 'red'", "eval")
    # invalid escape sequences are harmless and accepted silently
    assert sandbox.evaluate(r'"a\d".startswith("a")', {}) is True


def test_expressions_must_produce_data(sandbox: Sandbox) -> None:
    for source in ("(i for i in items)", "lambda: 1", "len", "zip(items, tags)"):
        with pytest.raises(SandboxRuntimeError, match="must produce data"):
            sandbox.evaluate(source, _data())
    assert sandbox.evaluate("list(i for i in items)", _data()) == [1, 2, 3]


def test_datetime_formats_are_bounded(sandbox: Sandbox) -> None:
    assert sandbox.evaluate("f'{parse_datetime(filed_at):%Y-%m-%d}'", _data()) == "2026-02-27"
    with pytest.raises(SandboxRuntimeError, match="strftime"):
        sandbox.evaluate("f'{parse_datetime(filed_at):{\"%c\" * 1000}}'", _data())
    with pytest.raises(SandboxRuntimeError, match="strftime"):
        sandbox.evaluate("parse_datetime(filed_at).strftime('%c' * 1000)", _data())


def test_pathological_sources_are_refused_at_compile_time(sandbox: Sandbox) -> None:
    for source in ("1+" * 100_000 + "1", "-" * 100_000 + "1", "(" * 1000 + ")" * 1000):
        with pytest.raises(SandboxViolation):
            sandbox.compile(source, "eval")


def test_empty_and_non_text_sources_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxViolation, match="empty"):
        sandbox.compile("   ", "eval")
    with pytest.raises(SandboxViolation):
        sandbox.compile(b"1", "eval")  # type: ignore[arg-type]
    with pytest.raises(SandboxViolation):
        sandbox.compile("x\x00", "eval")


# ---------------------------------------------------------------------------------------------
# Helpers


def test_helpers_dates(sandbox: Sandbox) -> None:
    data = _data()
    assert sandbox.evaluate("now()", data) == "2026-03-02T09:00:00+08:00"
    assert sandbox.evaluate("add_hours(now(), 1)", data) == "2026-03-02T10:00:00+08:00"
    assert sandbox.evaluate("add_days('2026-03-02', 3)", data) == "2026-03-05"
    assert sandbox.evaluate("add_days(filed_at, 1)", data) == "2026-02-28T09:00:00+08:00"
    assert sandbox.evaluate("add_days('2026-03-02T01:00:00Z', 1)", data) == (
        "2026-03-03T01:00:00+00:00"
    )
    assert sandbox.evaluate("days_between(filed_at, now())", data) == 3.0
    assert sandbox.evaluate("days_between('2026-03-02', '2026-03-01')", data) == -1.0
    assert sandbox.evaluate("iso(parse_datetime('2026-03-02 08:30'))", data) == (
        "2026-03-02T08:30:00+08:00"
    )
    assert sandbox.evaluate("iso('2026-03-02')", data) == "2026-03-02"
    assert sandbox.evaluate("parse_datetime(filed_at).weekday()", data) == 4
    assert sandbox.evaluate("parse_datetime(now()) > parse_datetime(filed_at)", data) is True
    with pytest.raises(SandboxRuntimeError, match="not an ISO-8601 date"):
        sandbox.evaluate("add_days('next tuesday', 1)", data)


def test_now_follows_the_given_clock() -> None:
    moments = [NOW]
    helpers = make_helpers(lambda: moments[0])
    sandbox = Sandbox(helpers=helpers)
    assert sandbox.evaluate("now()", {}) == "2026-03-02T09:00:00+08:00"
    moments[0] = datetime(2026, 3, 2, 2, 0)  # naive: taken as UTC
    assert sandbox.evaluate("now()", {}) == "2026-03-02T10:00:00+08:00"


def test_helpers_text_and_lists(sandbox: Sandbox) -> None:
    data = {**_data(), "blank": None, "dups": ["a", "b", "a", {"k": 1}, {"k": 1}]}
    assert sandbox.evaluate("strip(name)", data) == "张三"
    assert sandbox.evaluate("strip(blank) == ''", data) is True
    assert sandbox.evaluate("lower('ABC') + upper('d')", data) == "abcD"
    assert sandbox.evaluate("contains(tags, 'urgent')", data) is True
    assert sandbox.evaluate("contains(blank, 'urgent')", data) is False
    assert sandbox.evaluate("contains(name, '张')", data) is True
    assert sandbox.evaluate("join(tags, '/')", data) == "urgent/family"
    assert sandbox.evaluate("join([1, None, 'x'])", data) == "1, x"
    assert sandbox.evaluate("unique(dups)", data) == ["a", "b", {"k": 1}]
    assert sandbox.evaluate("count(dups, 'a')", data) == 2
    assert sandbox.evaluate("count(items)", data) == 3
    assert sandbox.evaluate("count(blank)", data) == 0


def test_task_data_shadows_helpers_of_the_same_name(sandbox: Sandbox) -> None:
    assert sandbox.evaluate("count > 3", {"count": 5}) is True


def test_calendar_hook_adds_working_day_helpers() -> None:
    calls: list[tuple[Any, Any]] = []

    def add_working_days(start: Any, n: int) -> str:
        calls.append((start, n))
        return "2026-03-04T09:00:00+08:00"

    def add_working_hours(start: Any, hours: float) -> str:
        return "2026-03-02T17:00:00+08:00"

    helpers = with_calendar(
        make_helpers(lambda: NOW),
        add_working_days=add_working_days,
        add_working_hours=add_working_hours,
    )
    assert set(CALENDAR_HELPER_NAMES) <= set(helpers)
    sandbox = Sandbox(helpers=helpers)
    assert sandbox.evaluate("add_working_days(now(), 2)", {}) == "2026-03-04T09:00:00+08:00"
    assert sandbox.evaluate("add_working_hours(now(), 8)", {}) == "2026-03-02T17:00:00+08:00"
    assert calls == [("2026-03-02T09:00:00+08:00", 2)]


def test_helper_names_are_checked() -> None:
    with pytest.raises(ValueError, match="invalid helper name"):
        Sandbox(helpers={"_secret": len})
    with pytest.raises(ValueError, match="invalid helper name"):
        Sandbox(helpers={"lambda": len})
    with pytest.raises(ValueError, match="not callable"):
        Sandbox(helpers={"x": 1})  # type: ignore[dict-item]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Limits(timeout_seconds=0)
    with pytest.raises(ValueError):
        Limits(max_steps=-1)


# ---------------------------------------------------------------------------------------------
# Caching and speed


def test_compiled_code_is_cached(sandbox: Sandbox) -> None:
    first = sandbox.compile('severity == "red"', "eval")
    assert sandbox.compile('severity == "red"', "eval") is first
    assert sandbox.compile('severity == "red"', "exec") is not first


def test_a_simple_condition_is_fast() -> None:
    sandbox = _sandbox(Limits())
    context = {**_data(), **{f"field{i}": i for i in range(30)}}
    source = 'severity == "red" and tier in ("county",)'
    sandbox.evaluate(source, context)
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        sandbox.evaluate(source, context)
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} µs per evaluation"


def test_concurrent_evaluations_keep_their_own_limits() -> None:
    sandbox = _sandbox(Limits(timeout_seconds=2.0, max_steps=1_000, max_size=10_000))
    results: list[Any] = []
    errors: list[BaseException] = []

    def good() -> None:
        for _ in range(200):
            results.append(sandbox.evaluate("sum(i for i in range(500))", {}))

    def bad() -> None:
        for _ in range(20):
            try:
                sandbox.evaluate("sum(i for i in range(5000))", {})
            except SandboxRuntimeError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=good), threading.Thread(target=bad)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [124750] * 200
    assert len(errors) == 20
