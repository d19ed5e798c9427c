"""The deadline policy (时限策略): time limits per process step, and what happens to a deadline.

Loaded from ``processes/deadlines.yaml`` (format in ``docs/deadlines.md``). A designer edits the
file; a bad file is refused with every problem listed by key and line.

Lookup order for ``limit_for(step, severity, category)``: the category's entry for the severity,
the category's ``default``, then (for a two-level code ``大类.小类``) the same for the parent
category, then the step's entry for the severity, then the step's ``default``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast, get_args

from engine.errors import Conflict, InputInvalid, NotFound
from engine.workdays import counting
from engine.workdays.calendar import WorkCalendar
from engine.workdays.hours import OfficeHours, OfficeHoursLike
from engine.workdays.ladder import LadderPolicy, Rung, parse_ladder
from engine.workdays.rules import (
    DEFAULT_END_OF_DAY,
    END_OF_DAY,
    START_RULES,
    DueResult,
    EndOfDay,
    Extend,
    Restart,
    RuleSpec,
    StartRule,
    Suspend,
    rule_from_value,
)
from engine.workdays.yamlsource import Checker, YamlDoc, parse_yaml, read_yaml

Severity = Literal["red", "orange", "yellow", "blue", "green"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
ResumeMode = Literal["remaining", "fresh"]
ReworkMode = Literal["keep_original", "fresh"]

_TOP_KEYS = {
    "version",
    "defaults",
    "steps",
    "extension",
    "suspension",
    "rework",
    "reopen",
    "supervision_ladder",
}
_STEP_KEYS = {"title", "limits", "categories", "note"}
_END_KEYS = {"working_days_end": "working_days", "days_end": "days"}

#: Parses a limit value at a YAML path into a rule spec whose ``source`` names the rule.
_Sourced = Callable[[Any, tuple[Any, ...], str], RuleSpec | None]


class ExtensionRefused(Conflict):
    """A 延期 (extension) request the policy does not allow (too late, too many, too long)."""


@dataclass(frozen=True)
class ExtensionPolicy:
    must_request_before_due: bool = True
    max_count: int = 1
    #: The longest extension as a share of the original limit (1.0 = up to the original limit).
    max_amount_ratio: float = 1.0


@dataclass(frozen=True)
class ReopenPolicy:
    window: RuleSpec = field(default_factory=lambda: RuleSpec("days", 30))
    auto_escalate_after: int = 2


@dataclass(frozen=True)
class ReopenDecision:
    due: DueResult
    reopen_count: int
    escalate: bool
    window_ends: datetime


@dataclass(frozen=True)
class StepLimits:
    key: str
    title: str | None
    by_severity: Mapping[str, RuleSpec]
    categories: Mapping[str, Mapping[str, RuleSpec]]


@dataclass(frozen=True)
class DeadlinePolicy:
    version: str
    file: str
    steps: Mapping[str, StepLimits]
    extension: ExtensionPolicy
    suspension_resume: ResumeMode
    rework_due: ReworkMode
    reopen: ReopenPolicy
    ladder: LadderPolicy

    # -- loading --------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> DeadlinePolicy:
        """Read and validate a policy file; raises ``ValidationFailed`` naming key and line."""
        return _parse(read_yaml(Path(path)))

    @classmethod
    def parse(cls, text: str, file: str = "<deadlines>") -> DeadlinePolicy:
        return _parse(parse_yaml(text, file))

    # -- limits and due times -------------------------------------------------------------------

    def limit_for(self, step: str, severity: str, category: str | None = None) -> RuleSpec:
        """The limit of ``step`` at ``severity``; its ``source`` names the matching YAML rule."""
        if severity not in SEVERITIES:
            raise InputInvalid(
                f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}"
            )
        limits = self.steps.get(step)
        if limits is None:
            raise NotFound(
                f"the deadline policy {self.file} has no step {step!r}",
                step=step,
                known=sorted(self.steps),
            )
        for code in _category_chain(category):
            entry = limits.categories.get(code)
            if entry is not None:
                found = entry.get(severity) or entry.get("default")
                if found is not None:
                    return found
        found = limits.by_severity.get(severity) or limits.by_severity.get("default")
        if found is None:
            raise NotFound(
                f"the deadline policy {self.file} has no limit for step {step!r} at severity "
                f"{severity!r} and no default for it",
                step=step,
                severity=severity,
            )
        return found

    def due(
        self,
        step: str,
        severity: str,
        start: datetime,
        calendar: WorkCalendar,
        category: str | None = None,
        office_hours: OfficeHoursLike | None = None,
    ) -> DueResult:
        """The deadline of ``step`` started at ``start`` (``office_hours``: the organisation's)."""
        return calendar.due(self.limit_for(step, severity, category), start, office_hours)

    def extend(
        self,
        current: DueResult,
        amount: float,
        requested_at: datetime,
        calendar: WorkCalendar,
        *,
        higher_approval: bool = False,
    ) -> DueResult:
        """Grant a 延期 (extension) of ``amount`` in the limit's own unit, or refuse it.

        Refused (``ExtensionRefused``) when requested at or after the due time, when the
        extensions since the last fresh limit reach ``max_count``, or when ``amount`` exceeds
        ``max_amount_ratio`` × the original amount — these two unless ``higher_approval`` (the
        level above the dispatching tier approved it).
        """
        counting.require_aware(requested_at, "requested_at")
        rule = current.rule
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
            raise InputInvalid(f"an extension must be a positive amount, not {amount!r}")
        if self.extension.must_request_before_due and requested_at >= current.due:
            raise ExtensionRefused(
                f"an extension must be requested before the due time {counting.fmt(current.due)}"
                f" (requested {counting.fmt(requested_at)})",
                reason="after_due",
            )
        if rule.extensions >= self.extension.max_count and not higher_approval:
            raise ExtensionRefused(
                f"already extended {rule.extensions} time(s); the policy allows "
                f"{self.extension.max_count} — a further extension needs higher approval",
                reason="max_count",
            )
        cap = self.extension.max_amount_ratio * rule.amount
        if amount > cap and not higher_approval:
            raise ExtensionRefused(
                f"an extension of {rule.describe(amount)} exceeds the maximum "
                f"{rule.describe(cap)} ({self.extension.max_amount_ratio:g} × the original limit)",
                reason="max_amount",
            )
        return calendar.due(rule.with_adjustment(Extend(amount)), current.start)

    def after_resume(
        self,
        current: DueResult,
        suspended_at: datetime,
        resumed_at: datetime,
        calendar: WorkCalendar,
    ) -> DueResult:
        """The deadline after a 挂账 (suspension): remaining time restored, or a fresh limit."""
        counting.require_aware(suspended_at, "suspended_at")
        counting.require_aware(resumed_at, "resumed_at")
        if resumed_at < suspended_at:
            raise InputInvalid("a suspension cannot end before it starts")
        if self.suspension_resume == "fresh":
            adjustment: Suspend | Restart = Restart(resumed_at)
        else:
            adjustment = Suspend(suspended_at, resumed_at)
        return calendar.due(current.rule.with_adjustment(adjustment), current.start)

    def after_rework(
        self, current: DueResult, rework_at: datetime, calendar: WorkCalendar
    ) -> DueResult:
        """The deadline after a failed check sends the work back (返工)."""
        counting.require_aware(rework_at, "rework_at")
        if self.rework_due == "keep_original":
            return current
        return calendar.due(current.rule.with_adjustment(Restart(rework_at)), current.start)

    def after_reopen(
        self,
        current: DueResult,
        closed_at: datetime,
        reopened_at: datetime,
        previous_reopens: int,
        calendar: WorkCalendar,
    ) -> ReopenDecision:
        """A reopened case gets a fresh limit; refused after the reopen window."""
        counting.require_aware(closed_at, "closed_at")
        counting.require_aware(reopened_at, "reopened_at")
        window_ends = calendar.due(self.reopen.window, closed_at).due
        if reopened_at > window_ends:
            raise Conflict(
                f"the reopen window ({self.reopen.window.describe()} after closing on "
                f"{counting.fmt(closed_at)}) ended {counting.fmt(window_ends)}",
                reason="reopen_window_closed",
            )
        count = previous_reopens + 1
        due = calendar.due(current.rule.with_adjustment(Restart(reopened_at)), current.start)
        return ReopenDecision(due, count, count >= self.reopen.auto_escalate_after, window_ends)

    def after_reclassify(
        self,
        current: DueResult,
        step: str,
        severity: str,
        calendar: WorkCalendar,
        category: str | None = None,
        office_hours: OfficeHoursLike | None = None,
    ) -> DueResult:
        """After a severity change: ``min(current due, start + new limit)``."""
        fresh = self.due(step, severity, current.start, calendar, category, office_hours)
        return fresh if fresh.due < current.due else current

    # -- supervision ladder ---------------------------------------------------------------------

    def ladder_rungs(
        self,
        start: datetime,
        due: datetime,
        severity: str,
        calendar: WorkCalendar,
        *,
        rule: RuleSpec | None = None,
        office_hours: OfficeHoursLike | None = None,
    ) -> list[Rung]:
        """``[(rung_name, at), …]`` in time order for a deadline from ``start`` to ``due``.

        Shares of the limit are measured in office time unless ``rule`` is a natural-time limit.
        """
        if rule is not None and rule.office_hours is not None and office_hours is None:
            hours: OfficeHours | None = rule.office_hours
        else:
            hours = None if office_hours is None else OfficeHours.parse(office_hours)
        clock = "working" if rule is None else rule.clock
        return self.ladder.schedule(start, due, severity, calendar, clock=clock, office_hours=hours)


def _category_chain(category: str | None) -> list[str]:
    """``"劳动争议.欠薪"`` → ``["劳动争议.欠薪", "劳动争议"]``."""
    if not category:
        return []
    parts = category.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


# -- parsing ------------------------------------------------------------------------------------


def _parse(doc: YamlDoc) -> DeadlinePolicy:
    check = Checker(doc)
    top = check.mapping((), doc.data, _TOP_KEYS, required=("version", "steps"))
    if top is None:
        check.raise_if_any()  # reports that the file is not a mapping
        top = {}
    version = top.get("version")
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        if "version" in top:
            check.problem(("version",), 'expected a version such as 1 or "2026.1"')
        version = ""

    defaults = check.mapping(("defaults",), top.get("defaults"), {"start_rule", *_END_KEYS}) or {}
    start_rule = cast(
        StartRule,
        check.choice(
            ("defaults", "start_rule"), defaults.get("start_rule"), START_RULES, "next_day"
        ),
    )
    ends: dict[str, EndOfDay] = {}
    for key, unit in _END_KEYS.items():
        ends[unit] = cast(
            EndOfDay,
            check.choice(
                ("defaults", key), defaults.get(key), END_OF_DAY, DEFAULT_END_OF_DAY[unit]
            ),
        )
    file_name = Path(doc.file).name

    def parse_rule(value: Any, path: tuple[Any, ...], source: str | None = None) -> RuleSpec | None:
        try:
            return rule_from_value(value, start_rule=start_rule, end_of_day=ends, source=source)
        except InputInvalid as exc:
            check.problem(path, exc.message)
            return None

    def sourced(value: Any, path: tuple[Any, ...], label: str) -> RuleSpec | None:
        return parse_rule(value, path, f"{label} ({file_name}:{doc.line(path)})")

    steps: dict[str, StepLimits] = {}
    raw_steps = check.mapping(("steps",), top.get("steps")) or {}
    for key, value in raw_steps.items():
        path: tuple[Any, ...] = ("steps", key)
        if not isinstance(key, str) or not key.strip():
            check.problem(path, "a step key is text such as dispute.resolve")
            continue
        steps[key] = _parse_step(check, key, value, path, sourced)

    extension_raw = (
        check.mapping(
            ("extension",),
            top.get("extension"),
            {"must_request_before_due", "max_count", "max_amount_ratio"},
        )
        or {}
    )
    extension = ExtensionPolicy(
        must_request_before_due=check.boolean(
            ("extension", "must_request_before_due"),
            extension_raw.get("must_request_before_due"),
            True,
        ),
        max_count=check.integer(("extension", "max_count"), extension_raw.get("max_count"), 1),
        max_amount_ratio=check.number(
            ("extension", "max_amount_ratio"), extension_raw.get("max_amount_ratio"), 1.0
        ),
    )
    suspension = check.mapping(("suspension",), top.get("suspension"), {"resume"}) or {}
    resume = cast(
        ResumeMode,
        check.choice(
            ("suspension", "resume"), suspension.get("resume"), get_args(ResumeMode), "remaining"
        ),
    )
    rework = check.mapping(("rework",), top.get("rework"), {"due"}) or {}
    rework_due = cast(
        ReworkMode,
        check.choice(("rework", "due"), rework.get("due"), get_args(ReworkMode), "keep_original"),
    )
    reopen_raw = (
        check.mapping(("reopen",), top.get("reopen"), {"window", "auto_escalate_after"}) or {}
    )
    window = ReopenPolicy().window
    if "window" in reopen_raw:
        window = parse_rule(reopen_raw["window"], ("reopen", "window")) or window
    reopen = ReopenPolicy(
        window=window,
        auto_escalate_after=check.integer(
            ("reopen", "auto_escalate_after"),
            reopen_raw.get("auto_escalate_after"),
            2,
            minimum=1,
        ),
    )
    ladder = parse_ladder(
        check,
        top.get("supervision_ladder"),
        ("supervision_ladder",),
        SEVERITIES,
        parse_rule,
    )
    check.raise_if_any()
    return DeadlinePolicy(
        version=str(version),
        file=doc.file,
        steps=steps,
        extension=extension,
        suspension_resume=resume,
        rework_due=rework_due,
        reopen=reopen,
        ladder=ladder,
    )


def _is_limit(value: Any) -> bool:
    return isinstance(value, list) or (isinstance(value, dict) and "unit" in value)


def _parse_step(
    check: Checker,
    key: str,
    value: Any,
    path: tuple[Any, ...],
    sourced: _Sourced,
) -> StepLimits:
    title: str | None = None
    categories: dict[str, Mapping[str, RuleSpec]] = {}
    if isinstance(value, dict) and not _is_limit(value) and set(value) & _STEP_KEYS:
        body = check.mapping(path, value, _STEP_KEYS, required=("limits",)) or {}
        raw_title = body.get("title")
        if raw_title is not None and not isinstance(raw_title, str):
            check.problem((*path, "title"), "a title is text")
        title = raw_title if isinstance(raw_title, str) else None
        limits_value, limits_path = body.get("limits"), (*path, "limits")
        raw_categories = check.mapping((*path, "categories"), body.get("categories")) or {}
        for category, entry in raw_categories.items():
            cpath = (*path, "categories", category)
            if not isinstance(category, str) or not category.strip():
                check.problem(cpath, "a category is a code such as 劳动争议 or 劳动争议.欠薪")
                continue
            categories[category] = _by_severity(
                check, entry, cpath, f"{key}/category {category}", sourced
            )
    else:
        limits_value, limits_path = value, path
    by_severity = _by_severity(check, limits_value, limits_path, key, sourced)
    return StepLimits(key, title, by_severity, categories)


def _by_severity(
    check: Checker, value: Any, path: tuple[Any, ...], label: str, sourced: _Sourced
) -> dict[str, RuleSpec]:
    """``[unit, amount]`` (one limit for every severity) or ``{red: …, default: …}``."""
    result: dict[str, RuleSpec] = {}
    if _is_limit(value):
        rule = sourced(value, path, label)
        if rule is not None:
            result["default"] = rule
        return result
    if not isinstance(value, dict) or not value:
        check.problem(
            path,
            "expected a limit such as [working_days, 3] or limits by severity such as "
            "{red: [days, 30], yellow: [days, 20], blue: [days, 7]}",
        )
        return result
    for severity, limit in value.items():
        where = (*path, severity)
        if severity not in (*SEVERITIES, "default"):
            hint = "" if path[-1] == "limits" else " (or title, limits, categories)"
            check.problem(
                where,
                f"unknown severity {severity!r}; expected {', '.join(SEVERITIES)} or default{hint}",
            )
            continue
        rule = sourced(limit, where, f"{label}/{severity}")
        if rule is not None:
            result[str(severity)] = rule
    return result
