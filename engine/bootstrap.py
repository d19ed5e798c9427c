"""Wire an :class:`~engine.runtime.Engine` from settings: the one place the parts meet."""

from __future__ import annotations

from engine.clock import Clock, SystemClock
from engine.runtime import Engine
from engine.settings import Settings
from engine.spiff import Limits, Sandbox
from engine.spiff.helpers import make_helpers
from engine.storage.database import Database


def limits_from(settings: Settings) -> Limits:
    return Limits(
        timeout_seconds=settings.script_timeout_seconds,
        max_steps=settings.script_max_steps,
        max_size=settings.script_max_size,
    )


def build_sandbox(settings: Settings, clock: Clock | None = None) -> Sandbox:
    """The sandbox used to validate bundles (the same helpers the engine offers)."""
    return Sandbox(helpers=make_helpers((clock or SystemClock()).now), limits=limits_from(settings))


def build_engine(settings: Settings, *, clock: Clock | None = None) -> Engine:
    db = Database(settings.database_url)
    return Engine(db, clock=clock or SystemClock(), limits=limits_from(settings))
