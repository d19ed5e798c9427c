"""The runtime: every command is one transaction on one instance.

``commands`` holds :class:`Engine` (the commands); ``transaction`` the lock → load → apply →
step → extract → save machinery they share; ``sync`` and ``projection`` extract human tasks,
waits and the case from a stepped workflow; ``context`` is what hooks (listeners) see inside
the transaction; ``candidates`` resolves who may work on a task; ``definitions`` deploys and
caches versions; ``forms`` validates submissions; ``cache`` keeps stepped workflows; ``diagram``
packs a finished instance's overlay; ``intake`` reports a new case.
"""

from engine.runtime.candidates import Candidate, CandidateResolver, PropertyResolver
from engine.runtime.commands import Engine
from engine.runtime.context import CommandContext, TaskListener
from engine.runtime.definitions import DefinitionVersion, files_from_paths, validate
from engine.runtime.forms import FormValidator
from engine.runtime.intake import next_case_no, report_case
from engine.runtime.transaction import FINISHED, OPEN_STATES

__all__ = [
    "FINISHED",
    "OPEN_STATES",
    "Candidate",
    "CandidateResolver",
    "CommandContext",
    "DefinitionVersion",
    "Engine",
    "FormValidator",
    "PropertyResolver",
    "TaskListener",
    "files_from_paths",
    "next_case_no",
    "report_case",
    "validate",
]
