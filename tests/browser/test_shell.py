"""Sign in / sign out, who am I, and a menu that shows only what the caller's roles allow."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, Console, Opener, Screens


def nav(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("header nav a").all_inner_texts()]


@pytest.mark.browser
def test_sign_in_shows_my_roles_and_unit_then_sign_out(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    page = open_as("town01")
    page.get_by_test_id("whoami").click()
    expect(page.get_by_role("heading", name="我的信息")).to_be_visible()
    expect(page.get_by_test_id("me-user")).to_have_text("town01")
    expect(page.get_by_role("cell", name="乡镇(街道)综治中心 township_center")).to_be_visible()
    screens.shot(page, "me")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    # The token is gone: reloading does not sign back in.
    page.reload()
    expect(page.get_by_role("button", name="登录")).to_be_visible()


@pytest.mark.browser
def test_a_wrong_password_is_said_in_chinese(browser: Browser, console: Console) -> None:
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.goto(f"{console.base}/")
    page.get_by_label("用户名").fill("grid01")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    ctx.close()


@pytest.mark.browser
def test_the_menu_follows_the_roles(open_as: Opener) -> None:
    # a grid can be sent a 督办单 to answer: the screen is for every unit that works cases
    # and reads its grid's periodic reports (日排查, with its 零报告)
    assert nav(open_as("grid01")) == ["待办", "上报", "案件", "督办单", "报表", "流程"]
    assert nav(open_as("auditor")) == ["案件", "统计", "报表", "审计", "流程"]
    town = nav(open_as("town01"))
    assert {"待办", "上报", "案件", "督办", "统计", "审计"} <= set(town)
    assert "管理" not in town
    assert "管理" in nav(open_as("admin"))
    assert "待办" not in nav(open_as("designer"))


@pytest.mark.browser
def test_the_inbox_on_a_phone(open_as: Opener, console: Console, screens: Screens) -> None:
    console.seed("DEMO-2026-0008")  # handled at the grid, waiting for the village's review
    page = open_as("village01", viewport=PHONE)
    page.get_by_test_id("scope-candidate").click()
    item = page.get_by_test_id("task-item").first
    expect(item).to_be_visible()
    expect(item).to_contain_text("DEMO-2026-0008")
    # Nothing wider than the screen: no sideways scrolling on a 360 px phone.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the inbox is {width}px wide on a {PHONE['width']}px screen"
    screens.shot(page, "inbox-phone")
    # The filters ask the server: 红 finds nothing here, 蓝 finds the (blue) case again.
    page.get_by_test_id("filter-red").click()
    expect(page.get_by_text("没有待办任务。")).to_be_visible()
    page.get_by_test_id("filter-blue").click()
    expect(page.get_by_test_id("task-item").first).to_contain_text("DEMO-2026-0008")
    expect(page.get_by_test_id("task-item").first.locator(".badge")).to_have_text("蓝")
    page.get_by_test_id("filter-overdue").click()
    expect(page.get_by_text("没有待办任务。")).to_be_visible()
