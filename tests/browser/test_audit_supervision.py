"""The auditor's screen (search, chain verification, CSV export for Excel), the supervision
view, the KPI dashboard and the admin's users."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Console, Opener, Screens, sign_in


@pytest.mark.browser
def test_an_auditor_verifies_the_chain_and_exports_csv(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    console.seed("DEMO-2026-0001")  # closed after a satisfied revisit
    page = open_as("auditor")
    expect(page.get_by_role("heading", name="审计")).to_be_visible()
    page.locator("input[name=case_no]").fill("DEMO-2026-0001")
    page.get_by_role("button", name="查询").click()
    table = page.get_by_test_id("audit-table")
    expect(table).to_contain_text("task_completed")
    page.get_by_test_id("verify").click()
    result = page.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-ok", "1")
    expect(result).to_contain_text("哈希链校验通过")
    screens.shot(page, "audit-verified")
    with page.expect_download() as download:
        page.get_by_role("button", name="导出 CSV").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the CSV opens in Excel only with a UTF-8 BOM"
    text = raw.decode("utf-8-sig")
    assert "DEMO-2026-0001" in text


@pytest.mark.browser
def test_supervision_dashboard_and_suspend_resume(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    for case_no in ("DEMO-2026-0003", "DEMO-2026-0006", "DEMO-2026-0001", "DEMO-2026-0004"):
        console.seed(case_no)
    console.clock.advance(timedelta(days=2))  # the report is "as of" a moment after the work
    page = open_as("county01")
    page.get_by_role("link", name="统计").click()
    page.get_by_label("期间").fill("2026-03")
    expect(page.get_by_test_id("kpi-headline")).to_contain_text("按期办结率")
    expect(page.get_by_test_id("kpi-registered")).not_to_have_text("0")
    expect(page.get_by_role("img", name="受理数（近6个月）")).to_be_visible()
    expect(page.get_by_role("img", name="化解层级分布")).to_be_visible()
    expect(page.get_by_role("img", name="按期办结率（按单位）")).to_be_visible()
    screens.shot(page, "dashboard")

    console.clock.advance(timedelta(days=15))  # past the time limits: the cases are overdue
    page.reload()  # the token expired meanwhile (it is timed by the same clock): sign in again
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    sign_in(page, console.base, "county01")
    page.get_by_role("link", name="督办", exact=True).click()
    expect(page.get_by_role("heading", name="督办", exact=True)).to_be_visible()
    units = page.get_by_test_id("supervision-unit")
    expect(units.filter(has_text="DEMO-2026-0003")).to_be_visible()
    expect(units.filter(has_text="DEMO-2026-0001")).to_have_count(0)  # closed: not supervised
    screens.shot(page, "supervision")

    page.goto(f"{console.base}/#/cases/DEMO-2026-0003")
    page.get_by_role("button", name="挂起").click()
    page.locator("textarea[name=reason]").fill("当事人住院，暂停办理。")
    page.get_by_role("button", name="确认挂起").click()
    expect(page.get_by_role("status")).to_contain_text("已挂起")
    page.get_by_role("button", name="恢复").click()
    page.get_by_role("button", name="确认恢复").click()
    expect(page.get_by_role("status")).to_contain_text("已恢复")


@pytest.mark.browser
def test_the_admin_sees_the_users(open_as: Opener, screens: Screens) -> None:
    page = open_as("admin")
    expect(page.get_by_test_id("users-table")).to_contain_text("grid01")
    screens.shot(page, "admin")
