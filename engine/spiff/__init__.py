"""The one seam to SpiffWorkflow: nothing outside this package imports it (ruff enforces it)."""

from engine.spiff.bundle import BundleFile, CompiledBundle, CompiledProcess, compile_bundle
from engine.spiff.sandbox import Limits, Sandbox, SandboxRuntimeError, SandboxViolation
from engine.spiff.scripting import SandboxScriptEngine, engine_time
from engine.spiff.serializer import SERIALIZER_VERSION, SPIFF_VERSION, RestoredSpec
from engine.spiff.workflow import PendingMessage, PendingTimer, ReadyTask, Workflow

__all__ = [
    "SERIALIZER_VERSION",
    "SPIFF_VERSION",
    "BundleFile",
    "CompiledBundle",
    "CompiledProcess",
    "Limits",
    "PendingMessage",
    "PendingTimer",
    "ReadyTask",
    "RestoredSpec",
    "Sandbox",
    "SandboxRuntimeError",
    "SandboxScriptEngine",
    "SandboxViolation",
    "Workflow",
    "compile_bundle",
    "engine_time",
]
