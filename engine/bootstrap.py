"""Wire an :class:`~engine.runtime.commands.Engine` from settings: the one place the parts meet."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from engine.budget import DEFAULT_BUDGET, ModelBudget
from engine.calendar_admin import CalendarRefresher, log_calendar_warnings
from engine.clock import Clock, SystemClock
from engine.evidence import BlobStore, Evidence, LocalStore, S3Store
from engine.orgs import LaneResolver
from engine.runtime import CandidateResolver, Engine, PropertyResolver
from engine.sandbox import Limits, Sandbox, make_helpers
from engine.scheduler import FiringRecorder
from engine.settings import Settings
from engine.storage.database import Database, Timeouts
from engine.supervision import build_supervision
from engine.workdays import WorkCalendar, make_workday_helpers

log = logging.getLogger("engine.calendar")


def limits_from(settings: Settings) -> Limits:
    return Limits(
        timeout_seconds=settings.script_timeout_seconds,
        max_steps=settings.script_max_steps,
        max_size=settings.script_max_size,
    )


def budget_from(settings: Settings) -> ModelBudget:
    """The work budget of one command, from settings (the model-level limits keep theirs)."""
    return replace(
        DEFAULT_BUDGET,
        engine_steps=settings.budget_engine_steps,
        loop_maximum=settings.budget_loop_maximum,
        mi_cardinality=settings.budget_mi_cardinality,
        command_seconds=settings.budget_command_seconds,
    )


def build_calendar(settings: Settings) -> WorkCalendar:
    return WorkCalendar.load(
        settings.calendar_override_file, missing_year_policy=settings.missing_year_policy
    )


def expression_helpers(
    calendar: WorkCalendar, now: Callable[[], datetime]
) -> dict[str, Callable[..., Any]]:
    """Everything a BPMN expression may call: dates, strings, lists, working-day arithmetic."""
    return {**make_helpers(now), **make_workday_helpers(calendar, now)}


def build_sandbox(settings: Settings, clock: Clock | None = None) -> Sandbox:
    """The sandbox used to validate bundles (the same helpers the engine offers)."""
    now = (clock or SystemClock()).now
    return Sandbox(helpers=expression_helpers(build_calendar(settings), now),
                   limits=limits_from(settings))  # fmt: skip


def build_resolver(settings: Settings) -> CandidateResolver:
    """Lanes → candidates from the organisation file and ``lanes.yaml`` when both exist."""
    lanes = settings.processes_dir / "lanes.yaml"
    if settings.organisations_file.exists() and lanes.exists():
        return LaneResolver.from_files(settings.organisations_file, lanes)
    return PropertyResolver()


def build_evidence(settings: Settings, db: Database, clock: Clock) -> Evidence:
    """The evidence store the settings name: the local disk, or an S3-compatible store."""
    store: BlobStore
    if settings.evidence_store == "s3":
        if not (settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key):
            raise ValueError(
                "BIHUAN_EVIDENCE_STORE=s3 needs BIHUAN_S3_ENDPOINT, BIHUAN_S3_ACCESS_KEY and "
                "BIHUAN_S3_SECRET_KEY"
            )
        store = S3Store(
            settings.s3_endpoint, settings.s3_bucket, settings.s3_access_key,
            settings.s3_secret_key, region=settings.s3_region, clock=clock,
        )  # fmt: skip
    else:
        store = LocalStore(settings.evidence_dir)
    return Evidence(db, clock, store, max_bytes=settings.evidence_max_bytes)


def build_engine(settings: Settings, *, clock: Clock | None = None) -> Engine:
    """The engine with everything wired: lanes → candidates, deadlines and the supervision
    ladder (督办) as a listener, firing proofs for timers, and working-day helpers."""
    clock = clock or SystemClock()
    db = Database(settings.database_url, timeouts=Timeouts(
        lock=settings.db_lock_timeout_seconds,
        statement=settings.db_statement_timeout_seconds,
        idle_in_transaction=settings.db_idle_in_transaction_timeout_seconds,
    ))  # fmt: skip
    calendar = build_calendar(settings)
    supervision = build_supervision(
        settings, db, clock=clock, calendar=calendar, policy_path=settings.deadlines_file
    )
    engine = Engine(
        db,
        clock=clock,
        resolver=build_resolver(settings),
        # FiringRecorder in every engine (API workers too): a timer fired by a late submission
        # leaves its proof in the same transaction.
        listeners=[supervision, FiringRecorder()],
        limits=limits_from(settings),
        helpers=make_workday_helpers(calendar, clock.now),
        duplicate_radius_m=settings.duplicate_radius_m,
        budget=budget_from(settings),
    )
    supervision.bind(engine)  # tier time-outs reach the workflow as the tier_timeout message
    engine.engine_messages.add(supervision.config.tier_message)  # never from a client
    start_calendar(supervision.refresher, db, clock)
    return engine


def start_calendar(refresher: CalendarRefresher, db: Database, clock: Clock) -> None:
    """Read the official tables loaded into the database and log the calendar's warnings once
    at start (the daily ``calendar_check`` job repeats them; requests never log them)."""
    try:
        with db.session() as s:
            refresher.refresh(s, force=True)
    except SQLAlchemyError as exc:  # a database not migrated yet: `bihuan db upgrade` comes next
        log.warning(
            "official holiday tables not read from the database: %s", exc.__class__.__name__
        )
    log_calendar_warnings(refresher.calendar, clock.now())
