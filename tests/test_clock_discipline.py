"""Nothing reads the host's time zone, and only the clock module reads the wall clock.

A scan of the source (``engine/``, ``api/``, ``cli/``, ``demo/``, ``tests/``) for the calls that do:

* the host's zone, anywhere: ``datetime.now()`` without a zone, ``date.today()``,
  ``datetime.today()``, ``utcnow()``, ``fromtimestamp()`` without a zone, ``astimezone()``
  without a zone, ``time.localtime``/``mktime``/``ctime``/``asctime``/``strftime``;
* the wall clock, outside ``engine/clock.py``: ``datetime.now(tz)``, ``time.time()``;
* and in tests, ``SystemClock`` at all: a test takes a ``ManualClock``.

``time.monotonic`` and ``time.perf_counter`` measure durations (script time limits, request
timings), not dates, and stay allowed. The engine's time comes from a ``Clock``; Beijing time is
named explicitly (``engine.clock.CHINA``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("engine", "api", "cli", "demo", "tests")
CLOCK_MODULE = Path("engine/clock.py")

HOST_ZONE_FUNCTIONS = {
    "datetime.datetime.today": "the host's date and zone",
    "datetime.date.today": "the host's date",
    "datetime.datetime.utcnow": "a naive instant",
    "datetime.datetime.utcfromtimestamp": "a naive instant",
    "time.localtime": "the host's zone",
    "time.mktime": "the host's zone",
    "time.ctime": "the host's zone",
    "time.asctime": "the host's zone",
    "time.strftime": "the host's zone",
}
WALL_CLOCK_FUNCTIONS = {"datetime.datetime.now", "time.time", "time.time_ns"}
NEED_A_ZONE = {
    "datetime.datetime.now",
    "datetime.datetime.fromtimestamp",
    "datetime.date.fromtimestamp",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _imports(tree: ast.AST) -> dict[str, str]:
    """Local name → qualified name, for the modules and names imported from datetime and time."""
    names = {"datetime": "datetime", "time": "time"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("datetime", "time"):
                    names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _qualified(node: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, names)
        return f"{base}.{node.attr}" if base else None
    return None


def _has_zone(call: ast.Call, position: int) -> bool:
    """Whether the call passes a zone (``tz``/``tzinfo``) other than ``None``."""
    given: ast.expr | None = call.args[position] if len(call.args) > position else None
    for keyword in call.keywords:
        if keyword.arg in ("tz", "tzinfo"):
            given = keyword.value
    return given is not None and not (isinstance(given, ast.Constant) and given.value is None)


def scan(source: str, path: str, *, is_test: bool) -> Iterator[Finding]:
    tree = ast.parse(source, filename=path)
    names = _imports(tree)
    wall_clock_allowed = Path(path) == CLOCK_MODULE
    for node in ast.walk(tree):
        if is_test and isinstance(node, ast.Name) and node.id == "SystemClock":
            yield Finding(path, node.lineno, "a test uses SystemClock: give it a ManualClock")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "astimezone"
            and not node.args
            and not node.keywords
        ):
            yield Finding(path, node.lineno, "astimezone() without a zone uses the host's zone")
            continue
        name = _qualified(func, names)
        if name is None:
            continue
        if name in HOST_ZONE_FUNCTIONS:
            yield Finding(path, node.lineno, f"{name}() reads {HOST_ZONE_FUNCTIONS[name]}")
        elif name in NEED_A_ZONE and not _has_zone(node, 0 if name.endswith("now") else 1):
            yield Finding(path, node.lineno, f"{name}() without a zone uses the host's zone")
        elif name in WALL_CLOCK_FUNCTIONS and not wall_clock_allowed:
            yield Finding(
                path, node.lineno, f"{name}() reads the wall clock: take the time from a Clock"
            )


def _sources() -> Iterator[tuple[str, str]]:
    for top in SCANNED:
        for file in sorted((ROOT / top).rglob("*.py")):
            relative = file.relative_to(ROOT)
            if "migrations" in relative.parts and "versions" in relative.parts:
                continue
            yield relative.as_posix(), file.read_text(encoding="utf-8")


def test_no_code_reads_the_host_zone_or_the_wall_clock_outside_the_clock_module() -> None:
    findings = [
        str(finding)
        for path, source in _sources()
        for finding in scan(source, path, is_test=path.startswith("tests/"))
    ]
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("from datetime import date\ndate.today()", "datetime.date.today() reads the host's date"),
        ("import datetime\ndatetime.datetime.now()", "without a zone"),
        ("from datetime import datetime as dt\ndt.now()", "without a zone"),
        ("from datetime import UTC, datetime\ndatetime.now(UTC)", "reads the wall clock"),
        ("from datetime import datetime\ndatetime.now(tz=None)", "without a zone"),
        ("from datetime import datetime\ndatetime.fromtimestamp(0)", "without a zone"),
        ("from datetime import datetime\ndatetime.utcnow()", "a naive instant"),
        ("import time\ntime.time()", "reads the wall clock"),
        ("from time import localtime\nlocaltime()", "the host's zone"),
        ("import time\ntime.strftime('%H')", "the host's zone"),
        ("moment.astimezone()", "astimezone() without a zone"),
        ("from engine.clock import SystemClock\nclock = SystemClock()", "give it a ManualClock"),
    ],
)
def test_the_scan_finds_each_kind_of_call(source: str, message: str) -> None:
    found = [f.message for f in scan(source, "tests/example.py", is_test=True)]
    assert any(message in m for m in found), found


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import UTC, datetime\ndatetime.fromtimestamp(0, UTC)",
        "from datetime import UTC, datetime\ndatetime.fromisoformat('2026-03-02T09:00+08:00')",
        "from engine.clock import CHINA\nmoment.astimezone(CHINA)",
        "import time\nstarted = time.monotonic()\ntime.perf_counter()",
        "from engine.clock import ManualClock\nclock = ManualClock(START)\nclock.now()",
    ],
)
def test_the_scan_lets_explicit_zones_and_durations_pass(source: str) -> None:
    assert not list(scan(source, "tests/example.py", is_test=True))


def test_only_the_clock_module_may_read_the_wall_clock() -> None:
    source = "from datetime import UTC, datetime\ndatetime.now(UTC)"
    assert not list(scan(source, CLOCK_MODULE.as_posix(), is_test=False))
    assert list(scan(source, "engine/runtime.py", is_test=False))


def test_the_clock_marked_modules_exist() -> None:
    """A renamed module would silently leave the faked-clock run (``make test-zones``)."""
    from tests.conftest import CLOCK_MODULES

    assert sorted(m for m in CLOCK_MODULES if not (ROOT / m).is_file()) == []
