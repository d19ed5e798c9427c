"""The restricted-Python sandbox every BPMN expression and script runs in, and the safe helper
functions offered to process designers. Built on RestrictedPython; knows nothing of
SpiffWorkflow (the seam, engine/spiff/, hands it the expressions).

``restricted`` compiles (cached) and runs code under step, size and time limits; ``policy`` is
what the compiler refuses and rewrites; ``errors`` the two exceptions; ``guards`` holds the
guarded builtins and attribute/item access; ``helpers`` the designer-facing functions.
"""

from engine.sandbox.errors import SandboxRuntimeError, SandboxViolation
from engine.sandbox.helpers import CALENDAR_HELPER_NAMES, make_helpers, with_calendar
from engine.sandbox.restricted import Limits, Sandbox

__all__ = [
    "CALENDAR_HELPER_NAMES",
    "Limits",
    "Sandbox",
    "SandboxRuntimeError",
    "SandboxViolation",
    "make_helpers",
    "with_calendar",
]
