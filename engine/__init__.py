"""bihuan's engine: versioned BPMN definitions, durable instances and human tasks.

The public surface is what ``__all__`` names (a test pins it); everything else may change.
SpiffWorkflow is reached only through :mod:`engine.spiff`.
"""

from engine.audit import SYSTEM, Actor
from engine.clock import Clock, ManualClock, SystemClock
from engine.errors import BihuanError, Problem
from engine.runtime import Candidate, CandidateResolver, Engine, PropertyResolver
from engine.settings import Settings

__all__ = [
    "SYSTEM",
    "Actor",
    "BihuanError",
    "Candidate",
    "CandidateResolver",
    "Clock",
    "Engine",
    "ManualClock",
    "Problem",
    "PropertyResolver",
    "Settings",
    "SystemClock",
]
