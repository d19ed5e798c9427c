"""The one seam to SpiffWorkflow: nothing outside this package imports it (ruff enforces it).

The sandbox its script engine runs expressions in is engine/sandbox/ (no SpiffWorkflow there).
"""

from engine.spiff.branches import hand_over_branch_keys
from engine.spiff.bundle import BundleFile, CompiledBundle, CompiledProcess, compile_bundle
from engine.spiff.metering import Meter, metered
from engine.spiff.scripting import SandboxScriptEngine, engine_time
from engine.spiff.serializer import SERIALIZER_VERSION, SPIFF_VERSION, RestoredSpec
from engine.spiff.workflow import PendingMessage, PendingTimer, ReadyTask, Workflow

__all__ = [
    "SERIALIZER_VERSION",
    "SPIFF_VERSION",
    "BundleFile",
    "CompiledBundle",
    "CompiledProcess",
    "Meter",
    "PendingMessage",
    "PendingTimer",
    "ReadyTask",
    "RestoredSpec",
    "SandboxScriptEngine",
    "Workflow",
    "compile_bundle",
    "engine_time",
    "hand_over_branch_keys",
    "metered",
]
