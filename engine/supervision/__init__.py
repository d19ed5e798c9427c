"""Supervision (督办): deadlines from the policy, the ladder 提示→警示→通报→约谈→督查,
tier escalation, 延期 / 挂账 / 返工 / 重办, and the periodic 日排查·周汇总·月研判 reports.

Public API:

* :class:`Supervision` — the engine listener and the scheduler's ``ladder`` / ``tier_due``
  handlers; ``resume_clock(case_no, actor)``, ``recompute_deadlines()``.
* :func:`build_supervision` — from settings: the policy file, the calendar, the default jobs.
* The periodic reports as stored: :func:`list_reports`, :func:`get_report`.
* 零报告: :class:`ZeroReportForm` (the worker's attestation), :func:`my_zero_reports`,
  :func:`open_for_day` (what the daily ``zero_report_open`` job does on a working day).
* Human 督办 (``orders.py``): ``issue_order``, ``answer_order``, ``record_outcome``,
  ``list_orders``, ``get_order``; the rule triggers (``triggers.py``): ``run_triggers``.
* :class:`SupervisionConfig`, :func:`default_jobs`, :data:`ISSUERS`, :data:`ORDER_KINDS`.
"""

from __future__ import annotations

from pathlib import Path

from engine.audit import anchor_job
from engine.calendar_admin import CalendarRefresher, calendar_check_job
from engine.clock import Clock
from engine.kpi.catchup import CATCH_UP_CRON, catch_up_job
from engine.scheduler.periodic import PeriodicJob
from engine.settings import Settings
from engine.storage.database import Database
from engine.supervision.core import SupervisionConfig
from engine.supervision.housekeeping import CHANGE_FEED_CRON, change_feed_job
from engine.supervision.orders import ISSUERS
from engine.supervision.orders import KINDS as ORDER_KINDS
from engine.supervision.report_reads import KINDS as REPORT_KINDS
from engine.supervision.report_reads import StoredReport, get_report, list_reports
from engine.supervision.reports import default_jobs
from engine.supervision.service import Supervision
from engine.supervision.triggers import TRIGGERS_CRON
from engine.supervision.zero_reports import (
    OPEN_CRON,
    ZeroReportForm,
    ZeroReportView,
    my_zero_reports,
    open_for_day,
    zero_report_job,
)
from engine.workdays import DeadlinePolicy, WorkCalendar

#: Daily, Beijing time: pick up loaded holiday tables, warn the operator (docs/deadlines.md).
CALENDAR_CHECK_CRON = "30 8 * * *"


def build_supervision(
    settings: Settings,
    db: Database,
    *,
    clock: Clock | None = None,
    calendar: WorkCalendar | None = None,
    policy_path: Path | None = None,
    config: SupervisionConfig | None = None,
) -> Supervision:
    """The service as ``bihuan serve`` / ``bihuan scheduler`` use it."""
    policy = DeadlinePolicy.load(policy_path or settings.processes_dir / "deadlines.yaml")
    cal = calendar or WorkCalendar.load(
        settings.calendar_override_file, missing_year_policy=settings.missing_year_policy
    )
    refresher = CalendarRefresher(cal)
    jobs = [
        *default_jobs(),
        PeriodicJob("audit_anchor", "0 * * * *", anchor_job(settings.secret_key)),
        PeriodicJob("change_feed_prune", CHANGE_FEED_CRON, change_feed_job()),
        PeriodicJob("kpi_catch_up", CATCH_UP_CRON, catch_up_job),
        PeriodicJob("zero_report_open", OPEN_CRON, zero_report_job(cal)),
    ]
    service = Supervision(
        policy, cal, config=config, db=db, clock=clock, jobs=jobs, refresher=refresher
    )
    service.answer_days = settings.supervision_answer_days
    service.jobs.append(PeriodicJob("rule_triggers", TRIGGERS_CRON, service.rule_triggers_job))
    check = calendar_check_job(refresher, service.recompute_deadlines)
    service.jobs.append(PeriodicJob("calendar_check", CALENDAR_CHECK_CRON, check))
    return service


__all__ = [
    "ISSUERS",
    "ORDER_KINDS",
    "REPORT_KINDS",
    "StoredReport",
    "Supervision",
    "SupervisionConfig",
    "ZeroReportForm",
    "ZeroReportView",
    "build_supervision",
    "default_jobs",
    "get_report",
    "list_reports",
    "my_zero_reports",
    "open_for_day",
]
