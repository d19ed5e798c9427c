"""Real cases driven through the engine for the facts-table tests: the demo county, the shipped
dispute process, the supervision ladder, and a clock that moves days between the steps.

Ten cases take their steps in turn, three days and five hours apart, from 2026-03-02 into April
(some start later); then the clock jumps past the open cases' deadlines and the scheduler fires
the ladder and tier time-outs, twice. So the record holds closures in March and April, reworks,
returns approved and denied, an agreement with 司法确认, a reopen, escalations, an invalid report,
open cases under 督办 — in two townships.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from demo import scenarios as sc
from demo.seed import _bundle
from engine.audit.log import Actor
from engine.bootstrap import build_engine
from engine.clock import ManualClock
from engine.kpi.facts import Fold, RecordEvent
from engine.kpi.record import events_of
from engine.kpi.store import TABLE, from_row, to_row
from engine.orgs import load_organisations
from engine.runtime import Engine, files_from_paths
from engine.scheduler import Scheduler
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import AuditEvent
from engine.supervision import Supervision
from tests.engine.support import DESIGNER
from tests.scenarios.conftest import demo_hasher

REPORTER = Actor("grid01", "grid_worker", "qs-dc-hp-01")
GAP = timedelta(days=3, hours=5)
StepAt = Callable[[datetime], sc.Step]


def at(step: sc.Step) -> StepAt:
    return lambda _now: step


def handling(unit: str) -> list[StepAt]:
    return [at(sc.dispatch(unit)), at(sc.sign()), sc.contact, at(sc.handle()), at(sc.feedback())]


def closing(satisfaction: int = 4) -> list[StepAt]:
    return [at(sc.review()), lambda now: sc.revisit(now, satisfaction)]


def escalate(unit: str) -> list[StepAt]:
    return [*handling(unit)[:-1], at(sc.feedback(False)), at(sc.review("escalate"))]


def unresolved() -> list[StepAt]:
    """Fed back as not resolved; the review passes it and the party, reached, says the
    problem is not solved (basically satisfied with the handling): closed, not 化解."""
    return [
        *handling("qs-dc-hp-01")[:-1],
        at(sc.feedback(False)),
        at(sc.review()),
        lambda now: sc.revisit(now, 3, problem_solved=False),
    ]


def unreached() -> list[StepAt]:
    """The party never reached at 回访: three attempts, then closed — not 化解."""
    return [
        *handling("qs-xh-sq-01"),
        at(sc.review()),
        *[lambda now: sc.revisit(now, None)] * 3,
    ]


def red() -> list[StepAt]:
    """A red case at the county with its 包案领导, open across a month end."""
    return [
        at(sc.screen_red()),
        lambda now: sc.leader_steps(now)[0],
        lambda now: sc.leader_steps(now)[1],
        *handling("qs-rsj"),
        at(sc.review()),
        lambda now: sc.revisit(now, 4),
    ]


def leader(user: str) -> list[StepAt]:
    """上报 to a township or the county: its 包案领导 is named and writes the plan first."""
    return [
        lambda now: sc.escalated_leader(now, user)[0],
        lambda now: sc.escalated_leader(now, user)[1],
    ]


def mediation() -> list[StepAt]:
    return [
        at(sc.dispatch("qs-dc-hp-02")),
        at(sc.sign()),
        sc.contact,
        at(sc.handle("mediate")),
        lambda now: sc.mediate(now.date().isoformat(), jc_requested=True),
        sc.judicial_confirmation,
        sc.jc_ruling,
        at(sc.feedback()),
        at(sc.review()),
        lambda now: sc.revisit(now, 5, agreement_performed=True),
    ]


#: case → (grid, first round, steps)
CASES: dict[str, tuple[str, int, list[StepAt]]] = {
    "K-MAIN": ("qs-dc-hp-01", 0, [at(sc.screen()), *handling("qs-dc-hp-01"), *closing(4)]),
    "K-REW": (
        "qs-dc-hp-02",
        0,
        [
            at(sc.screen()),
            *handling("qs-dc-hp-02"),
            at(sc.review("rework")),
            at(sc.handle()),
            at(sc.feedback()),
            *closing(3),
        ],
    ),
    "K-RET": (
        "qs-xh-sq-01",
        1,
        [
            at(sc.screen(category="labour")),
            at(sc.dispatch("qs-xh-pcs")),
            at(sc.request_return(suggested="qs-rsj")),
            at(sc.review_return(True)),
            at(sc.dispatch("qs-xh-sfs")),
            at(sc.request_return("other")),
            at(sc.review_return(False)),
            sc.contact,
            at(sc.handle()),
            at(sc.feedback()),
            *closing(5),
        ],
    ),
    "K-MED": ("qs-dc-hp-02", 2, [at(sc.screen()), *mediation()]),
    "K-REO": (
        "qs-dc-hp-01",
        3,
        [
            at(sc.screen()),
            *handling("qs-dc-hp-01"),
            *closing(2),
            at(sc.dissatisfaction("reopen")),
            *handling("qs-dc-hp-01"),
            *closing(1),
            at(sc.dissatisfaction("reopen")),  # the second reopen: 约谈 (a ladder rise)
            *handling("qs-dc-hp"),
            *closing(4),
        ],
    ),
    "K-REO2": (  # reopened twice (约谈), then still open
        "qs-dc-yq-01",
        7,
        [
            at(sc.screen()),
            *handling("qs-dc-yq-01"),
            *closing(2),
            at(sc.dissatisfaction("reopen")),
            *handling("qs-dc-yq-01"),
            *closing(1),
            at(sc.dissatisfaction("reopen")),
            at(sc.dispatch("qs-dc-yq")),
        ],
    ),
    "K-ESC": (
        "qs-dc-hp-01",
        4,
        [
            at(sc.screen()),
            *escalate("qs-dc-hp-01"),  # grid → village
            *escalate("qs-dc-hp"),  # → township
            *leader("leader02"),  # the township's 包案领导
            *escalate("qs-dc-sfs"),  # → county (上行)
            *leader("leader01"),
            *handling("qs-rsj"),
            *closing(1),
            at(sc.dissatisfaction("close_excluded")),
        ],
    ),
    "K-OPEN": (  # stays open under 督办: a denied return raises a 通报
        "qs-xh-sq-01",
        5,
        [
            at(sc.screen(category="labour")),
            at(sc.dispatch("qs-xh-pcs")),
            at(sc.request_return("other")),
            at(sc.review_return(False)),
        ],
    ),
    "K-WAIT": ("qs-dc-hp-02", 9, [at(sc.screen())]),
    "K-UNS": ("qs-dc-hp-01", 1, [at(sc.screen()), *unresolved()]),
    "K-UNR": ("qs-xh-sq-01", 2, [at(sc.screen()), *unreached()]),
    "K-RED": ("qs-xh-sq-01", 6, red()),
    "K-INV": (
        "qs-xh-sq-01",
        6,
        [at(sc.screen_out("invalid", invalid_reason="not_dispute")), sc.inform_party],
    ),
    "K-LATE": ("qs-dc-hp-01", 10, [at(sc.screen()), *handling("qs-dc-hp-01")]),
}
#: cases that take all their steps in their first round, an hour apart (closed on time)
QUICK: dict[str, tuple[str, int, list[StepAt]]] = {
    "K-FAST": ("qs-xh-sq-01", 2, [at(sc.screen()), *handling("qs-xh-sq-01"), *closing(5)]),
    "K-FAST2": ("qs-dc-hp-02", 8, [at(sc.screen()), *handling("qs-dc-hp-02"), *closing(3)]),
}


@dataclass
class County:
    engine: Engine
    clock: ManualClock
    driver: sc.Driver
    scheduler: Scheduler

    @property
    def db(self) -> Database:
        return self.engine.db

    def sweep(self) -> None:
        self.scheduler.sweep_once(self.clock.now())


def build(db_url: str, clock: ManualClock) -> County:
    settings = Settings(database_url=db_url, demo=True)
    engine = build_engine(settings, clock=clock)
    with engine.db.session() as s:
        load_organisations(s, settings.organisations_file, hash_password=demo_hasher(),
                           now=clock.now)  # fmt: skip
    engine.deploy(files_from_paths(_bundle(settings.processes_dir, settings.forms_dir)), DESIGNER)
    supervision = next(x for x in engine.listeners if isinstance(x, Supervision))
    scheduler = Scheduler(engine.db, engine=engine, clock=clock, owner="kpi-test",
                          handlers=supervision.due_handlers())  # fmt: skip
    return County(engine, clock, sc.Driver(engine), scheduler)


def drive(county: County, after_each: Callable[[str], None] | None = None) -> None:
    """Run every case's steps in turn (one round every ``GAP``), then let the deadlines pass."""
    plans: dict[str, Iterator[StepAt]] = {}
    for rnd in range(40):
        for case_no, (grid, first, steps) in QUICK.items():
            if rnd == first:
                county.driver.start(case_no, sc.report(case_no, grid), REPORTER)
                for step in steps:
                    county.clock.advance(timedelta(hours=1))
                    county.driver.do(case_no, *step(county.clock.now()))
                    if after_each:
                        after_each(case_no)
        for case_no, (grid, first, steps) in CASES.items():
            if rnd == first:
                county.driver.start(case_no, sc.report(case_no, grid), REPORTER)
                plans[case_no] = iter(steps)
                if after_each:
                    after_each(case_no)
            elif case_no in plans:
                step = next(plans[case_no], None)
                if step is None:
                    del plans[case_no]
                    continue
                element, form = step(county.clock.now())
                county.driver.do(case_no, element, form)
                if after_each:
                    after_each(case_no)
        if rnd > max(first for _, first, _ in CASES.values()) and not plans:
            break
        county.clock.advance(GAP)
    for days in (12, 20):  # the open cases' ladders and tier time-outs
        county.clock.advance(timedelta(days=days))
        county.sweep()


# ------------------------------------------------------------------------- facts vs the fold


def stored(db: Database, case_no: str | None = None) -> dict[str, dict[str, Any]]:
    """The facts rows (of one case), as the dicts :func:`engine.kpi.store.to_row` writes."""
    query = select(TABLE) if case_no is None else select(TABLE).where(TABLE.c.case_no == case_no)
    with db.session() as s:
        return {row.case_no: to_row(from_row(row)) for row in s.execute(query)}


def folded(db: Database, case_no: str | None = None) -> dict[str, dict[str, Any]]:
    """Each case's whole record folded in one pass, as a facts row."""
    which = AuditEvent.case_no.is_not(None) if case_no is None else AuditEvent.case_no == case_no
    with db.session() as s:
        rows = s.execute(events_of(which)).all()
    out: dict[str, Fold] = {}
    for row in rows:
        out.setdefault(row[0], Fold.start(row[0])).step(RecordEvent(*row[1:]))
    return {case_no: to_row(fold) for case_no, fold in out.items()}
