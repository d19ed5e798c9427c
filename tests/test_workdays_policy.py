"""The deadline policy: processes/deadlines.yaml, lookups, validation, extension, suspension,
rework, reopen and the supervision ladder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.clock import CHINA
from engine.errors import Conflict, InputInvalid, NotFound, ValidationFailed
from engine.workdays import (
    DeadlinePolicy,
    DueResult,
    ExtensionRefused,
    RuleSpec,
    WorkCalendar,
    rung_level,
)

POLICY_FILE = Path(__file__).resolve().parent.parent / "processes" / "deadlines.yaml"

REQUIRED_STEPS = [
    "dispute.sign",
    "dispute.resolve",
    "dispute.plan",
    "dispute.stabilize",
    "dispute.mediation",
    "dispute.revisit",
    "dispute.jc_window",
    "dispute.return_review",
    "dispute.whistle_report_in",
    "dispute.screen",
    "dispute.dispatch",
    "dispute.feedback_review",
]


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    return DeadlinePolicy.load(POLICY_FILE)


MINIMAL = """
version: 1
steps:
  x.step: [working_days, 2]
supervision_ladder:
  rungs:
    default:
      - {rung: warning, at_pct: 100}
"""


def problems_of(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ValidationFailed) as raised:
        DeadlinePolicy.parse(text, "policy.yaml")
    assert all(p.file == "policy.yaml" for p in raised.value.problems)
    return [(p.line, p.message) for p in raised.value.problems]


def by_line(found: list[tuple[int | None, str]]) -> dict[int | None, str]:
    """All messages of each line, joined."""
    lines: dict[int | None, str] = {}
    for line, message in found:
        lines[line] = f"{lines[line]} | {message}" if line in lines else message
    return lines


# -- the shipped policy -----------------------------------------------------------------------


def test_shipped_policy_has_every_dispute_step(policy: DeadlinePolicy) -> None:
    assert set(REQUIRED_STEPS) <= set(policy.steps)
    for step in REQUIRED_STEPS:
        for severity in ("red", "yellow", "blue"):
            assert isinstance(policy.limit_for(step, severity), RuleSpec)


@pytest.mark.parametrize(
    ("step", "severity", "unit", "amount"),
    [
        ("dispute.resolve", "blue", "days", 7),
        ("dispute.resolve", "yellow", "days", 20),
        ("dispute.resolve", "red", "days", 30),
        ("dispute.sign", "blue", "working_hours", 2),
        ("dispute.sign", "yellow", "working_hours", 1),
        ("dispute.sign", "red", "minutes", 30),
        ("dispute.plan", "red", "working_days", 3),
        ("dispute.stabilize", "red", "hours", 24),
        ("dispute.mediation", "blue", "days", 30),
        ("dispute.revisit", "yellow", "working_days", 1),
        ("dispute.jc_window", "blue", "days", 30),
        ("dispute.whistle_report_in", "yellow", "working_hours", 2),
        ("dispute.whistle_report_in", "red", "minutes", 30),
    ],
)
def test_shipped_defaults(
    policy: DeadlinePolicy, step: str, severity: str, unit: str, amount: float
) -> None:
    rule = policy.limit_for(step, severity)
    assert (rule.unit, rule.amount) == (unit, amount)


def test_shipped_policy_parameters(policy: DeadlinePolicy) -> None:
    assert policy.version == "1"
    assert policy.extension.must_request_before_due is True
    assert policy.extension.max_count == 1
    assert policy.extension.max_amount_ratio == 1.0
    assert policy.suspension_resume == "remaining"
    assert policy.rework_due == "keep_original"
    assert policy.reopen.window == RuleSpec("days", 30)
    assert policy.reopen.auto_escalate_after == 2
    assert policy.ladder.triggers.interview_circulars_per_quarter == 2
    assert [r.name for r in policy.ladder.rungs_for("red")] == ["warning", "interview"]
    assert [r.name for r in policy.ladder.rungs_for("blue")] == [
        "prompt_50",
        "prompt_80",
        "warning",
        "circular",
    ]


def test_source_names_the_matching_rule_and_its_line(policy: DeadlinePolicy) -> None:
    rule = policy.limit_for("dispute.resolve", "yellow")
    assert rule.source is not None
    label, where = rule.source.split(" (")
    assert label == "dispute.resolve/yellow"
    line = int(where.rstrip(")").split(":")[1])
    assert (
        POLICY_FILE.read_text(encoding="utf-8")
        .splitlines()[line - 1]
        .strip()
        .startswith("yellow: [days, 20]")
    )
    assert policy.limit_for("dispute.plan", "blue").source.startswith("dispute.plan/default (")  # type: ignore[union-attr]
    assert policy.limit_for("dispute.mediation", "red").source.startswith("dispute.mediation (")  # type: ignore[union-attr]


def test_due_carries_the_rule_text(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    result = policy.due("dispute.resolve", "blue", at(2026, 9, 30, 10), cal)
    # 7 days: last day 10/7 is in the 2026 国庆 holiday → 10/8, ends 24:00
    assert result.due == at(2026, 10, 9)
    assert result.text.startswith("dispute.resolve/blue (deadlines.yaml:")
    assert "7 days from 2026-09-30 10:00" in result.text
    assert result.confidence == "high"
    sign = policy.due("dispute.sign", "yellow", at(2026, 3, 2, 11, 30), cal)
    assert sign.due == at(2026, 3, 2, 14)  # 30 min before lunch, 30 min after
    org = policy.due(
        "dispute.sign", "yellow", at(2026, 3, 2, 11, 30), cal, office_hours="09:00-18:00"
    )
    assert org.due == at(2026, 3, 2, 12, 30)
    again = cal.recompute(org.rule.to_dict(), org.start)
    assert again.due == org.due and again.text == org.text


# -- lookups ----------------------------------------------------------------------------------

CATEGORIES = """
version: 2
defaults:
  start_rule: same_day_inclusive
steps:
  dispute.resolve:
    title: 化解办结
    limits: {red: [days, 30], blue: [days, 7]}
    categories:
      劳动争议: {red: [days, 15], default: [days, 10]}
      劳动争议.欠薪: {blue: [days, 5]}
      邻里关系: [days, 3]
  dispute.sign: {red: [minutes, 30], yellow: [working_hours, 1]}
supervision_ladder:
  rungs:
    default: [{rung: warning, at_pct: 100}]
"""


@pytest.mark.parametrize(
    ("severity", "category", "amount", "label"),
    [
        ("blue", "劳动争议.欠薪", 5, "dispute.resolve/category 劳动争议.欠薪/blue"),
        ("red", "劳动争议.欠薪", 15, "dispute.resolve/category 劳动争议/red"),
        ("yellow", "劳动争议.欠薪", 10, "dispute.resolve/category 劳动争议/default"),
        ("red", "劳动争议", 15, "dispute.resolve/category 劳动争议/red"),
        ("red", "邻里关系", 3, "dispute.resolve/category 邻里关系"),
        ("red", "婚姻", 30, "dispute.resolve/red"),
        ("blue", None, 7, "dispute.resolve/blue"),
    ],
)
def test_category_lookup_order(
    severity: str, category: str | None, amount: int, label: str
) -> None:
    policy = DeadlinePolicy.parse(CATEGORIES, "p.yaml")
    rule = policy.limit_for("dispute.resolve", severity, category)
    assert rule.amount == amount
    assert rule.source is not None and rule.source.split(" (p.yaml:")[0] == label
    assert rule.start_rule == "same_day_inclusive"  # the file's default


def test_lookup_errors() -> None:
    policy = DeadlinePolicy.parse(CATEGORIES, "p.yaml")
    with pytest.raises(NotFound, match=r"no step 'dispute\.nothing'"):
        policy.limit_for("dispute.nothing", "red")
    with pytest.raises(NotFound, match=r"no limit for step 'dispute\.resolve' at severity"):
        policy.limit_for("dispute.resolve", "yellow")
    with pytest.raises(InputInvalid, match="unknown severity 'purple'"):
        policy.limit_for("dispute.resolve", "purple")
    assert policy.limit_for("dispute.sign", "yellow").unit == "working_hours"
    assert policy.steps["dispute.resolve"].title == "化解办结"


# -- validation -------------------------------------------------------------------------------


def test_minimal_policy_takes_documented_defaults() -> None:
    policy = DeadlinePolicy.parse(MINIMAL)
    assert policy.limit_for("x.step", "green") == RuleSpec(
        "working_days",
        2,
        "next_day",
        "office_close",
        source=policy.limit_for("x.step", "green").source,
    )
    assert policy.suspension_resume == "remaining" and policy.rework_due == "keep_original"
    assert policy.extension.max_count == 1


def test_validation_names_key_and_line() -> None:
    found = problems_of(
        """version: 1
steps:
  dispute.sign:
    red: [minutes, 30]
    purple: [hours, 1]
  dispute.resolve:
    blue: [fortnights, 1]
    yellow: [days, 1.5]
    red: [days]
  dispute.plan:
    limits: {red: {unit: working_days, amount: 3, start: today}}
extension:
  max_count: -1
suspension:
  resume: later
colour: red
supervision_ladder:
  rungs:
    default: [{rung: warning, at_pct: 100}]
"""
    )
    lines = by_line(found)
    assert "steps → dispute.sign → purple: unknown severity 'purple'" in lines[5]
    assert "unknown time unit 'fortnights'" in lines[7]
    assert "whole days" in lines[8]
    assert "[unit, amount]" in lines[9]
    assert "unknown limit key(s) start" in lines[11]
    assert "expected a whole number ≥ 0, got -1" in lines[13]
    assert "'later' is not one of: remaining, fresh" in lines[15]
    assert "colour: unknown key" in lines[16]
    assert len(found) == 8


def test_validation_of_required_parts_and_yaml_errors() -> None:
    messages = [m for _, m in problems_of("steps: {}\n")]
    assert any("'version' is required" in m for m in messages)
    assert any("a 'default' list of rungs is required" in m for m in messages)
    assert problems_of("version: 1\nsteps: [\n")[0][0] == 3
    duplicate = problems_of(MINIMAL + "steps: {}\n")
    assert duplicate[0][0] == 9 and "duplicate key steps" in duplicate[0][1]
    assert "expected a mapping" in problems_of("- just\n- a list\n")[0][1]
    with pytest.raises(ValidationFailed, match="cannot read"):
        DeadlinePolicy.load(POLICY_FILE.with_name("absent.yaml"))


def test_ladder_validation() -> None:
    found = problems_of(
        """version: 1
steps: {x: [hours, 1]}
supervision_ladder:
  rungs:
    default:
      - {rung: prompt_50, at_pct: 50}
      - {rung: warning, at_pct: 100}
      - {rung: prompt_80, at_pct: 80}
      - {rung: scolding, at_pct: 90}
      - {rung: circular, after: interview, wait: [working_days, 5]}
      - {rung: interview, at_pct: 100, after: warning}
      - {rung: inspection, at_pct: 150}
    purple: []
  triggers:
    interview_circulars_per_quarter: many
"""
    )
    lines = by_line(found)
    assert "the ladder only goes up" in lines[8]
    assert "percentages must not decrease" in lines[8]
    assert "'scolding' is not a rung" in lines[9]
    assert "must name an earlier rung" in lines[10]
    assert "either 'at_pct' or both 'after' and 'wait'" in lines[11]
    assert "percentage in (0, 100]" in lines[12]
    assert "purple: unknown key" in lines[13]
    assert "expected a whole number" in lines[15]


# -- extension (延期) -------------------------------------------------------------------------


def test_extension_before_due(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    plan = policy.due("dispute.plan", "red", at(2026, 3, 2, 10), cal)
    assert plan.due == at(2026, 3, 5, 17, 30)
    extended = policy.extend(plan, 2, at(2026, 3, 5, 9), cal)
    assert extended.due == at(2026, 3, 9, 17, 30)  # 3/6, then Monday 3/9
    assert "extended by 2 working days to 2026-03-09 17:30" in extended.text
    assert extended.rule.extensions == 1
    stored = json.loads(json.dumps(extended.to_dict()))
    assert stored["rule"]["adjustments"] == [{"op": "extend", "amount": 2}]
    assert cal.recompute(stored["rule"], plan.start) == extended


def test_extension_of_natural_days_rolls_off_holidays(
    policy: DeadlinePolicy, cal: WorkCalendar
) -> None:
    resolve = policy.due("dispute.resolve", "blue", at(2026, 9, 18, 10), cal)
    # last day Fri 9/25 is 中秋 (9/25–9/27) → Monday 9/28
    assert resolve.due == at(2026, 9, 29)
    assert "中秋 Mid-autumn Festival" in resolve.text
    # +7 days from 9/28: last day 10/5 (国庆 10/1–10/7) → 10/8
    extended = policy.extend(resolve, 7, at(2026, 9, 20, 10), cal)
    assert extended.due == at(2026, 10, 9)
    assert "moved to the next working day 2026-10-08" in extended.text


def test_extension_refusals(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    plan = policy.due("dispute.plan", "red", at(2026, 3, 2, 10), cal)
    with pytest.raises(ExtensionRefused, match="before the due time 2026-03-05 17:30") as late:
        policy.extend(plan, 1, at(2026, 3, 5, 17, 30), cal)
    assert late.value.details["reason"] == "after_due"
    assert isinstance(late.value, Conflict)
    with pytest.raises(ExtensionRefused, match="exceeds the maximum 3 working days"):
        policy.extend(plan, 4, at(2026, 3, 3, 10), cal)
    once = policy.extend(plan, 3, at(2026, 3, 3, 10), cal)
    with pytest.raises(ExtensionRefused, match="needs higher approval"):
        policy.extend(once, 1, at(2026, 3, 4, 10), cal)
    twice = policy.extend(once, 1, at(2026, 3, 4, 10), cal, higher_approval=True)
    assert twice.due == at(2026, 3, 11, 17, 30)
    assert twice.rule.extensions == 2
    with pytest.raises(InputInvalid):
        policy.extend(plan, 0, at(2026, 3, 3, 10), cal)


# -- suspension (挂账), rework (返工), reopen, reclassification --------------------------------


def test_resume_restores_remaining_working_time(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    sign = policy.due("dispute.sign", "blue", at(2026, 3, 2, 10), cal)  # due 12:00
    resumed = policy.after_resume(sign, at(2026, 3, 2, 11), at(2026, 3, 4, 17), cal)
    # 1 working hour left: 17:00–17:30, then 08:30–09:00 next day
    assert resumed.due == at(2026, 3, 5, 9)
    assert "挂账" in resumed.text and "1 h of office time left" in resumed.text


def test_resume_restores_remaining_natural_time(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    resolve = policy.due("dispute.resolve", "blue", at(2026, 3, 2, 10), cal)
    assert resolve.due == at(2026, 3, 10)  # last day Mon 3/9 (Sat 3/7 → Monday)
    resumed = policy.after_resume(resolve, at(2026, 3, 6, 12), at(2026, 3, 16, 12), cal)
    # 3 d 12 h left from 3/16 12:00 → 3/20 00:00: the end of Thursday 3/19
    assert resumed.due == at(2026, 3, 20)
    # suspended after the due time: still overdue
    late = policy.after_resume(resolve, at(2026, 3, 11, 9), at(2026, 3, 12, 9), cal)
    assert late.due == resolve.due


def test_resume_with_fresh_limit(cal: WorkCalendar) -> None:
    policy = DeadlinePolicy.parse(MINIMAL + "suspension: {resume: fresh}\nrework: {due: fresh}\n")
    first = policy.due("x.step", "blue", at(2026, 3, 2, 10), cal)
    resumed = policy.after_resume(first, at(2026, 3, 3, 10), at(2026, 3, 9, 10), cal)
    assert resumed.due == at(2026, 3, 11, 17, 30)
    assert "fresh limit" in resumed.text
    reworked = policy.after_rework(first, at(2026, 3, 12, 10), cal)
    assert reworked.due == at(2026, 3, 16, 17, 30)
    with pytest.raises(InputInvalid):
        policy.after_resume(first, at(2026, 3, 3, 10), at(2026, 3, 2, 10), cal)


def test_rework_keeps_the_original_due_by_default(
    policy: DeadlinePolicy, cal: WorkCalendar
) -> None:
    review = policy.due("dispute.feedback_review", "blue", at(2026, 3, 2, 10), cal)
    assert policy.after_rework(review, at(2026, 3, 10, 9), cal) is review


def test_reopen(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    resolve = policy.due("dispute.resolve", "yellow", at(2026, 3, 2, 10), cal)
    closed = at(2026, 3, 10, 16)
    first = policy.after_reopen(resolve, closed, at(2026, 3, 20, 9), 0, cal)
    assert first.reopen_count == 1 and not first.escalate
    assert first.due.due == at(2026, 4, 10)  # 20 days from 3/20: last day 4/9
    assert first.window_ends == at(2026, 4, 10)  # 30 days from 3/10: last day 4/9
    second = policy.after_reopen(first.due, closed, at(2026, 4, 1, 9), 1, cal)
    assert second.reopen_count == 2 and second.escalate
    with pytest.raises(Conflict, match="reopen window"):
        policy.after_reopen(resolve, closed, at(2026, 4, 10, 0, 1), 0, cal)


def test_reclassify_takes_the_earlier_due(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    blue = policy.due("dispute.resolve", "blue", at(2026, 3, 2, 10), cal)
    red = policy.after_reclassify(blue, "dispute.resolve", "red", cal)
    assert red is blue  # 30 days would be later than the current due
    yellow_sign = policy.due("dispute.sign", "blue", at(2026, 3, 2, 10), cal)
    upgraded = policy.after_reclassify(yellow_sign, "dispute.sign", "red", cal)
    assert upgraded.due == at(2026, 3, 2, 10, 30)


# -- supervision ladder -----------------------------------------------------------------------


def test_ladder_blue_working_days(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    start = at(2026, 3, 2, 9)
    plan = policy.due("dispute.plan", "blue", start, cal)  # 3 working days → Thu 3/5 17:30
    rungs = policy.ladder_rungs(start, plan.due, "blue", cal, rule=plan.rule)
    # office time in the limit: 7 h on Monday + 3 × 7.5 h = 29.5 h
    assert rungs == [
        ("prompt_50", at(2026, 3, 4, 8, 45)),  # 14.75 h of office time
        ("prompt_80", at(2026, 3, 4, 17, 30)),  # 1 working day left comes before 80 %
        ("warning", at(2026, 3, 5, 17, 30)),
        ("circular", at(2026, 3, 12, 17, 30)),  # 5 working days after the due day
    ]
    assert [rung_level(name) for name, _ in rungs] == [0, 0, 1, 2]


def test_ladder_red_starts_at_warning(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    start = at(2026, 3, 2, 9)
    plan = policy.due("dispute.plan", "red", start, cal)
    rungs = policy.ladder_rungs(start, plan.due, "red", cal, rule=plan.rule)
    assert rungs == [("warning", at(2026, 3, 4, 8, 45)), ("interview", at(2026, 3, 5, 17, 30))]


def test_ladder_natural_limit_uses_natural_time(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    start = at(2026, 3, 7, 20)  # a Saturday evening: no office time at all
    sign = policy.due("dispute.sign", "red", start, cal)
    rungs = policy.ladder_rungs(start, sign.due, "red", cal, rule=sign.rule)
    assert rungs == [("warning", at(2026, 3, 7, 20, 15)), ("interview", at(2026, 3, 7, 20, 30))]
    # 20 days from 3/2: last day Sun 3/22 → Mon 3/23, due 3/24 00:00 (a 22-day span)
    resolve = policy.due("dispute.resolve", "yellow", at(2026, 3, 2, 0), cal)
    names = dict(policy.ladder_rungs(resolve.start, resolve.due, "yellow", cal, rule=resolve.rule))
    assert names["prompt_50"] == at(2026, 3, 13)
    # 80 % (3/19 14:24) comes before "1 working day left" (3/20 17:30): 80 % it is
    assert names["prompt_80"] == at(2026, 3, 19, 14, 24)
    assert names["warning"] == at(2026, 3, 24)


def test_ladder_short_working_hour_limit(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 11:00 Beijing
    sign = policy.due("dispute.sign", "blue", start, cal)  # 2 working hours → 14:30
    rungs = policy.ladder_rungs(start, sign.due, "blue", cal, rule=sign.rule)
    assert [name for name, _ in rungs] == ["prompt_50", "prompt_80", "warning", "circular"]
    assert rungs[0].at == at(2026, 3, 2, 12)  # an hour of office time in
    assert rungs[1].at == at(2026, 3, 2, 14, 6)
    assert rungs[0].at.tzinfo is UTC
    assert rungs[3].at == at(2026, 3, 9, 17, 30)


def test_ladder_default_measure_is_office_time(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    rungs = policy.ladder_rungs(at(2026, 3, 6, 17), at(2026, 3, 9, 10), "red", cal)
    # 2 h of office time (Fri 17:00–17:30, Mon 08:30–10:00): half of it by Mon 09:00
    assert rungs[0] == ("warning", at(2026, 3, 9, 9))


def test_results_are_plain_data(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    result = policy.due("dispute.revisit", "blue", at(2026, 12, 30, 16), cal)
    assert isinstance(result, DueResult)
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["due"] == "2026-12-31T17:30:00+08:00"
    assert data["uncovered_years"] == [] and data["data_version"] == cal.data_version
    assert timedelta(0) < result.due - result.start


def test_ladder_uses_the_office_hours_stored_in_the_rule(
    policy: DeadlinePolicy, cal: WorkCalendar
) -> None:
    start = at(2026, 3, 2, 9)
    sign = policy.due("dispute.sign", "blue", start, cal, office_hours="09:00-17:00")
    assert sign.due == at(2026, 3, 2, 11)
    rungs = policy.ladder_rungs(start, sign.due, "blue", cal, rule=sign.rule)
    assert rungs[0] == ("prompt_50", at(2026, 3, 2, 10))
    assert rungs[-1] == ("circular", at(2026, 3, 9, 17))  # office close of that organisation
