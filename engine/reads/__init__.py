"""The read side for front-ends: inbox, task detail, case list and detail, history, feed.

Everything here reads the projections (``cases``, ``human_tasks``, ``audit_events``,
``change_events``); only :func:`element_states` loads a workflow, through the engine's seam.
Scoping by the caller's jurisdiction and candidacy happens in SQL (``scope``), from a
:class:`~engine.access.Principal`; single-object visibility checks live in :mod:`engine.access`.
``views`` holds what is handed out; ``inbox``, ``cases`` and ``feed`` the queries.
"""

from engine.reads.cases import case_detail, element_states, history, list_cases
from engine.reads.definition_files import (
    Catalog,
    FileInfo,
    StartForm,
    bundle_file,
    bundle_files,
    catalog,
    start_form,
)
from engine.reads.feed import (
    changes_after,
    definition_xml,
    definitions,
    gauges,
    last_change_id,
    ping,
)
from engine.reads.inbox import CaseFilter, inbox, task_detail, task_view
from engine.reads.scope import COUNT_CAP
from engine.reads.views import (
    OPEN,
    CaseDetail,
    CaseFilters,
    CaseView,
    ChangeView,
    CommentView,
    Gauges,
    HistoryEntry,
    Page,
    TaskDetail,
    TaskScope,
    TaskSort,
    TaskView,
)

__all__ = [
    "COUNT_CAP",
    "OPEN",
    "CaseDetail",
    "CaseFilter",
    "CaseFilters",
    "CaseView",
    "Catalog",
    "ChangeView",
    "CommentView",
    "FileInfo",
    "Gauges",
    "HistoryEntry",
    "Page",
    "StartForm",
    "TaskDetail",
    "TaskScope",
    "TaskSort",
    "TaskView",
    "bundle_file",
    "bundle_files",
    "case_detail",
    "catalog",
    "changes_after",
    "definition_xml",
    "definitions",
    "element_states",
    "gauges",
    "history",
    "inbox",
    "last_change_id",
    "list_cases",
    "ping",
    "start_form",
    "task_detail",
    "task_view",
]
