"""Mediation (调解) and the judicial-confirmation window (司法确认申请期), driven at several
moments of the Beijing day.

The window is a timer ``add_natural_days(agreement_date, 30)``: it closes at the end of the 30th
day after the agreement, Beijing midnight. Each drive runs on a :class:`ManualClock` set to a
moment of the day, among them 23:30 and 00:30 in Beijing (15:30 and 16:30 UTC), either side of
the hour when the UTC date and the Beijing date part: a date taken from the host's clock or zone
instead of the engine clock would put the agreement, and so the window, on the wrong day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.clock import ManualClock
from tests.processes.drive import Drive
from tests.processes.support import START

pytestmark = pytest.mark.clock

MEDIATION = {
    "mediation_type": "people",
    "mediation_mode": "invite",
    "parties_consent": True,
    "mediator": "和平社区人民调解委员会",
    "mediation_record": "邀请双方亲属参与调解。",
}

# (the clock's instant, the agreement date in Beijing, the end of its 30-day window)
MOMENTS = [
    pytest.param(START, "2026-03-02", "2026-04-02T00:00:00+08:00", id="09:00-beijing"),
    pytest.param(
        datetime(2026, 3, 2, 15, 30, tzinfo=UTC),
        "2026-03-02",
        "2026-04-02T00:00:00+08:00",
        id="23:30-beijing",
    ),
    pytest.param(
        datetime(2026, 3, 2, 16, 30, tzinfo=UTC),
        "2026-03-03",
        "2026-04-03T00:00:00+08:00",
        id="00:30-beijing",
    ),
]


def mediated(moment: datetime, **agreement: object) -> Drive:
    """A grid case handled by mediation that reached an agreement, on a clock at ``moment``."""
    d = Drive(ManualClock(moment))
    d.register()
    d.dispatch("qs-dc-hp-01")
    d.sign()
    d.contact()
    d.handle("mediate")
    d.do(
        "mediate_case",
        **MEDIATION,
        mediation_outcome="agreement",
        agreement_summary="夜间十点后不得产生噪音。",
        **{"agreement_date": d.today(), **agreement},
    )
    return d


def apply(d: Drive) -> None:
    """Both parties apply to the court (the first of the two steps of 司法确认)."""
    d.do(
        "judicial_confirmation",
        jc_court="西河人民法庭",
        jc_applied_at=d.today(),
        jc_joint_application=True,
    )


@pytest.mark.parametrize(("moment", "today", "window_end"), MOMENTS)
def test_mediation_with_agreement_and_judicial_confirmation(
    moment: datetime, today: str, window_end: str
) -> None:
    d = Drive(ManualClock(moment))
    d.register()
    d.dispatch("qs-dc-hp-01")
    d.sign()
    d.contact()
    d.handle("mediate")
    d.do("mediate_case", **MEDIATION, mediation_outcome="no_agreement", failure_reason="分歧大。")
    assert d.ready_ids() == ["inform_channels"]  # no agreement: tell the statutory channels
    d.do(
        "inform_channels",
        channels_informed=["litigation", "arbitration"],
        channels_informed_at=d.now(),
        channels_inform_method="written",
    )
    assert d.data["channels_informed"] == ["litigation", "arbitration"]
    assert d.ready_ids() == ["handle_case"]  # then handle again
    d.handle("mediate")
    assert d.today() == today
    d.do(
        "mediate_case",
        **MEDIATION,
        mediation_outcome="agreement",
        agreement_date=d.today(),
        agreement_summary="夜间十点后不得产生噪音。",
        jc_requested=True,
    )
    assert d.ready_ids() == ["judicial_confirmation"]
    assert d.timers() == [window_end]
    d.advance(timedelta(days=3))
    apply(d)
    assert d.ready_ids() == ["jc_ruling"]
    assert not d.timers()  # the window's timer left with the application it guarded
    d.do(
        "jc_ruling", jc_result="confirmed", jc_ruled_at=d.today(), jc_ruling_no="(2026)青西民特1号"
    )
    assert d.ready_ids() == ["feedback_result"]
    assert d.data["jc_result"] == "confirmed"
    d.feedback()
    d.review()
    d.revisit(5)
    out = d.done()
    assert out["case_status"] == "CLOSED"
    assert out["closed_at"] == d.now()  # iso(now()) in the model: the engine clock, Beijing time


@pytest.mark.parametrize(("moment", "today", "window_end"), MOMENTS)
def test_judicial_confirmation_window_closes_at_beijing_midnight(
    moment: datetime, today: str, window_end: str
) -> None:
    d = mediated(moment, jc_requested=True)
    assert d.data["agreement_date"] == today
    end = datetime.fromisoformat(window_end)
    d.advance(end - moment - timedelta(minutes=1))  # 23:59 on the last day: still open
    assert d.ready_ids() == ["judicial_confirmation"]
    assert d.data["jc_result"] == ""
    d.advance(timedelta(minutes=2))  # 00:01 the day after: closed
    assert d.ready_ids() == ["feedback_result"]
    assert d.data["jc_result"] == "expired"


@pytest.mark.parametrize(("moment", "today", "window_end"), MOMENTS)
def test_judicial_confirmation_window_expires_after_30_days(
    moment: datetime, today: str, window_end: str
) -> None:
    long_ago = date.fromisoformat(today) - timedelta(days=40)
    d = mediated(moment, agreement_date=long_ago.isoformat(), jc_requested=True)
    d.advance(timedelta(0))  # the window closed days ago: the first sweep closes it
    assert d.ready_ids() == ["feedback_result"]
    assert d.data["jc_result"] == "expired"


@pytest.mark.parametrize(
    ("agreement", "window_end"),
    [
        # day 30 is Sunday 2026-03-01, a rest day: the window runs to the end of Monday
        pytest.param("2026-01-30", "2026-03-03T00:00:00+08:00", id="last-day-a-rest-day"),
        # day 30 is Saturday 2026-02-28, a working day in lieu (调休) of the Spring Festival
        pytest.param("2026-01-29", "2026-03-01T00:00:00+08:00", id="last-day-a-working-saturday"),
    ],
)
def test_the_window_follows_the_working_day_calendar(agreement: str, window_end: str) -> None:
    """A period whose last day is a rest day ends on the next working day: the engine's
    calendar knows which days those are (calendar-day arithmetic would not)."""
    moment = datetime(2026, 2, 27, 1, 0, tzinfo=UTC)  # Friday 09:00 in Beijing
    d = mediated(moment, agreement_date=agreement, jc_requested=True)
    assert d.timers() == [window_end]
    d.advance(datetime.fromisoformat(window_end) - moment - timedelta(minutes=1))
    assert d.ready_ids() == ["judicial_confirmation"]
    d.advance(timedelta(minutes=2))
    assert d.data["jc_result"] == "expired"


@pytest.mark.parametrize(("moment", "today", "window_end"), MOMENTS)
def test_agreement_without_confirmation_goes_to_feedback(
    moment: datetime, today: str, window_end: str
) -> None:
    d = mediated(moment, jc_requested=False)
    assert d.ready_ids() == ["feedback_result"]
    assert not d.timers()


@pytest.mark.parametrize(("moment", "today", "window_end"), MOMENTS)
def test_parties_who_applied_on_day_25_wait_for_the_ruling_past_the_window(
    moment: datetime, today: str, window_end: str
) -> None:
    """The 30-day window bounds the parties' application, not the court's ruling: applied on
    day 25, the case waits for the ruling on day 40 without expiring."""
    d = mediated(moment, jc_requested=True)
    d.advance(timedelta(days=25))
    apply(d)
    assert d.ready_ids() == ["jc_ruling"]
    assert d.data["jc_applied_at"] == (date.fromisoformat(today) + timedelta(days=25)).isoformat()
    d.advance(timedelta(days=15))  # day 40: long past the window
    assert d.ready_ids() == ["jc_ruling"]
    assert d.data["jc_result"] == ""
    d.do(
        "jc_ruling", jc_result="confirmed", jc_ruled_at=d.today(), jc_ruling_no="(2026)青西民特2号"
    )
    assert d.ready_ids() == ["feedback_result"]
    assert d.data["jc_result"] == "confirmed"


def test_a_rejected_ruling_sends_the_case_back_to_handling() -> None:
    """驳回: re-mediate or guide the parties to sue — the handling unit decides again."""
    d = mediated(START, jc_requested=True)
    apply(d)
    d.do("jc_ruling", jc_result="rejected", jc_ruled_at=d.today(), jc_note="协议内容违反法律规定。")
    assert d.ready_ids() == ["handle_case"]
    assert d.data["jc_result"] == "rejected"
