"""The grid worker's 零报告 in the inbox and the 报表 screen: a grid worker attests "nothing to
report today", the 日排查 shows that attestation and names the worker who did not, and the
月研判 shows the month's KPIs with the ranking of 承办单位."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from engine.clock import CHINA
from engine.supervision import open_for_day
from engine.supervision.reports import daily_screening, monthly_analysis
from tests.browser.conftest import Console, Opener, Screens


@pytest.mark.browser
def test_zero_report_attested_and_the_reports_read(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    console.seed("DEMO-2026-0001")  # a closed case: the March figures have a 承办单位
    now = console.clock.now()
    with console.engine.db.session() as s:
        open_for_day(s, now.astimezone(CHINA).date(), now)

    page = open_as("grid01")
    card = page.get_by_test_id("zero-reports")
    expect(card).to_contain_text("日排查零报告")
    confirm = card.get_by_role("button", name="确认零报告")
    expect(confirm).to_be_disabled()  # nothing is attested without the worker's tick
    card.get_by_label("经排查，本网格今日无矛盾纠纷需上报").check()
    card.get_by_label("排查情况说明").fill("已走访和平一网格全部楼栋。")
    confirm.click()
    expect(card).to_contain_text("已确认")
    expect(card.get_by_role("button", name="确认零报告")).to_have_count(0)
    screens.shot(page, "zero-report")

    evening = now + timedelta(hours=8)  # 17:00 Beijing: the 日排查
    with console.engine.db.session() as s:
        daily_screening(s, evening, evening)
        april = datetime(2026, 4, 1, 1, tzinfo=UTC)
        monthly_analysis(s, april, april)

    page = open_as("county01")
    page.get_by_role("link", name="报表").click()
    expect(page.get_by_role("heading", name="报表")).to_be_visible()
    listing = page.get_by_test_id("report-list")
    listing.get_by_role("link", name="和平社区第一网格", exact=False).first.click()
    daily = page.get_by_test_id("report-daily")
    expect(daily).to_contain_text("grid01")
    expect(daily).to_contain_text("已走访和平一网格全部楼栋。")
    expect(page.get_by_test_id("report-missing")).to_contain_text("无")
    page.get_by_label("报表类型").select_option("daily_screening")
    page.get_by_test_id("report-list").get_by_role(
        "link", name="和平社区第二网格", exact=False
    ).first.click()
    expect(page.get_by_test_id("report-missing")).to_contain_text("grid02")
    page.get_by_label("报表类型").select_option("monthly_analysis")
    page.get_by_test_id("report-list").get_by_role("link").first.click()
    monthly = page.get_by_test_id("report-monthly")
    expect(monthly).to_contain_text("化解率")
    expect(page.get_by_test_id("report-ranking").locator("tbody tr")).not_to_have_count(0)
    screens.shot(page, "reports-monthly")

    # a grid worker reads only their own grid's 日排查
    page = open_as("grid02")
    page.get_by_role("link", name="报表").click()
    rows = page.get_by_test_id("report-list").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("日排查")
