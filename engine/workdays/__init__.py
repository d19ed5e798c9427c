"""Chinese working-day calendar and deadline policy (pure Python, no database).

* :class:`WorkCalendar` — working days (法定节假日 + 调休) from the bundled table, an operator
  override file and ``chinesecalendar``; deadline arithmetic for every counting rule.
* :class:`RuleSpec` / :class:`DueResult` — a store-able rule and the deadline it produced
  (due instant, rule text, confidence); ``WorkCalendar.recompute(rule, start)`` repeats it.
* :class:`DeadlinePolicy` — ``processes/deadlines.yaml``: limits per step/severity/category,
  extension, suspension, rework, reopen and the supervision ladder.
* :func:`make_workday_helpers` — deadline functions for BPMN expressions.

See ``docs/deadlines.md``.
"""

from engine.workdays.calendar import (
    MISSING_YEAR_POLICIES,
    DayInfo,
    MissingYearPolicy,
    WorkCalendar,
)
from engine.workdays.helpers import make_workday_helpers
from engine.workdays.hours import DEFAULT_OFFICE_HOURS, OfficeHours
from engine.workdays.ladder import LEVELS, EscalationTriggers, LadderPolicy, Rung, rung_level
from engine.workdays.policy import (
    SEVERITIES,
    DeadlinePolicy,
    ExtensionPolicy,
    ExtensionRefused,
    ReopenDecision,
    ReopenPolicy,
    StepLimits,
)
from engine.workdays.rules import (
    PROVISIONAL_LABEL,
    Adjustment,
    DueResult,
    Extend,
    Restart,
    RuleSpec,
    Suspend,
    rule_from_value,
)
from engine.workdays.tables import BUNDLED_TABLE_PATH, HolidayTable, YearTable, load_table

__all__ = [
    "BUNDLED_TABLE_PATH",
    "DEFAULT_OFFICE_HOURS",
    "LEVELS",
    "MISSING_YEAR_POLICIES",
    "PROVISIONAL_LABEL",
    "SEVERITIES",
    "Adjustment",
    "DayInfo",
    "DeadlinePolicy",
    "DueResult",
    "EscalationTriggers",
    "Extend",
    "ExtensionPolicy",
    "ExtensionRefused",
    "HolidayTable",
    "LadderPolicy",
    "MissingYearPolicy",
    "OfficeHours",
    "ReopenDecision",
    "ReopenPolicy",
    "Restart",
    "RuleSpec",
    "Rung",
    "StepLimits",
    "Suspend",
    "WorkCalendar",
    "YearTable",
    "load_table",
    "make_workday_helpers",
    "rule_from_value",
    "rung_level",
]
