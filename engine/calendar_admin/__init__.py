"""The working-day calendar as the operator runs it (工作日历运维).

* :mod:`~engine.calendar_admin.store` — official holiday tables in the database
  (``calendar_years``), so that every node computes with them; :class:`CalendarRefresher` keeps a
  node's :class:`~engine.workdays.WorkCalendar` in step with the table; loading a file
  (:func:`load_official_table`) recomputes every open provisional deadline.
* :mod:`~engine.calendar_admin.status` — which years are official or provisional, and the warning
  (from 1 November of year Y when Y+1 has no official table) that ``readyz``, the log and
  ``GET /api/v1/admin/calendar`` show.
* ``bihuan calendar load FILE`` and ``bihuan calendar status`` live in :mod:`cli.calendar`.

``engine.workdays`` stays pure Python (no database); this package is where the calendar meets
storage. See docs/deadlines.md.
"""

from engine.calendar_admin.status import (
    WARN_FROM,
    CalendarStatus,
    YearStatus,
    calendar_check_job,
    calendar_status,
    log_calendar_warnings,
)
from engine.calendar_admin.store import (
    CalendarRefresher,
    LoadReport,
    load_official_table,
    read_loaded,
    store_table,
)

__all__ = [
    "WARN_FROM",
    "CalendarRefresher",
    "CalendarStatus",
    "LoadReport",
    "YearStatus",
    "calendar_check_job",
    "calendar_status",
    "load_official_table",
    "log_calendar_warnings",
    "read_loaded",
    "store_table",
]
