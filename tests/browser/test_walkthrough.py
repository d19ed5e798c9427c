"""docs/walkthrough.md done by clicking in the console: the grid worker reports, the township
centre screens, the community dispatches (with the org picker), the grid worker signs, contacts,
handles and feeds back, the community checks, the follow-up agent's revisit closes it.

Plus: a 422 from the server shown on the field it names, and a claim lost to a colleague."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Console, Opener, Screens
from tests.browser.fill import fill_form


def claim(page: Page, base: str, case_no: str, element: str) -> None:
    """From the inbox's candidate view, claim the case's task (lands on the task page)."""
    page.goto(f"{base}/#/inbox?scope=candidate")
    item = page.locator(
        f"[data-testid=task-item][data-case-no='{case_no}'][data-element='{element}']"
    )
    expect(item).to_be_visible()
    item.get_by_role("button", name="领取").click()
    expect(page.get_by_test_id("task-page")).to_have_attribute("data-task-state", "claimed")


def work(
    page: Page, base: str, case_no: str, element: str, form: str, data: dict[str, Any]
) -> None:
    claim(page, base, case_no, element)
    fill_form(page, form, data)
    page.get_by_role("button", name="提交办结").click()
    expect(page.get_by_role("status")).to_contain_text("任务办结")
    expect(page.get_by_test_id("task-page")).to_have_attribute("data-task-state", "completed")


@pytest.mark.browser
def test_the_walkthrough_by_clicking(open_as: Opener, console: Console, screens: Screens) -> None:
    base = console.base
    # 发现、上报 — grid01 on a phone.
    grid = open_as("grid01", viewport=PHONE)
    grid.get_by_role("link", name="上报").click()
    expect(grid.locator("#root_title")).to_be_visible()
    fill_form(grid, "report", {
        "title": "楼上装修噪音纠纷",
        "source_channel": "grid_patrol",
        "grid_code": "qs-dc-hp-01",
        "description": "3 号楼 502 室夜间装修，邻里多次争吵。",
        "parties": [{"name": "张三", "role": "applicant"}, {"name": "李四", "role": "respondent"}],
    })  # fmt: skip
    screens.shot(grid, "report-phone")
    grid.get_by_role("button", name="上报", exact=True).click()
    created = grid.get_by_test_id("created-case")
    expect(created).to_be_visible()
    case_no = created.inner_text().strip()
    assert case_no.startswith("BH-")
    # The new case's page, on the phone: no sideways scrolling there either.
    created.click()
    expect(grid.get_by_test_id("case-diagram")).to_have_attribute("data-drawn", "1")
    assert grid.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screens.shot(grid, "case-phone", full_page=False)

    # 甄别 — town01 at a desk.
    town = open_as("town01")
    claim(town, base, case_no, "screen_case")
    fill_form(town, "screen", {
        "screen_outcome": "register", "screen_opinion": "经核实，情况属实。",
        "category": "neighbourhood", "severity": "blue", "difficulty": "simple",
        "urgency": "normal",
    })  # fmt: skip
    screens.shot(town, "task-screen")
    town.get_by_role("button", name="提交办结").click()
    expect(town.get_by_test_id("task-page")).to_have_attribute("data-task-state", "completed")

    # 交办 — village01 dispatches to the grid with the org picker.
    village = open_as("village01")
    claim(village, base, case_no, "dispatch_case")
    fill_form(village, "dispatch", {"dispatch_action": "dispatch", "handling_unit": "qs-dc-hp-01"})
    screens.shot(village, "task-dispatch-org-picker")
    village.get_by_role("button", name="提交办结").click()
    expect(village.get_by_test_id("task-page")).to_have_attribute("data-task-state", "completed")

    # 签收、联系、办理、反馈 — grid01.
    work(grid, base, case_no, "sign_case", "sign", {"sign_decision": "sign"})
    work(grid, base, case_no, "first_contact", "first_contact", {
        "contacted_at": "2026-11-23T09:00:00+08:00", "contact_method": "visit",
        "parties_reached": True, "first_contact_note": "双方情绪平稳，诉求明确。",
    })  # fmt: skip
    work(grid, base, case_no, "handle_case", "handle",
         {"handle_action": "feedback", "progress_note": "已走访双方，现场调解。"})  # fmt: skip
    work(grid, base, case_no, "feedback_result", "feedback", {
        "resolved": True, "result_summary": "双方约定施工时间，达成谅解。",
        "resolution_method": "settlement",
    })  # fmt: skip

    # 审核、回访、办结.
    work(village, base, case_no, "review_result", "review_result",
         {"review_decision": "pass", "review_opinion": "同意办结。"})  # fmt: skip
    revisit = open_as("revisit01")
    work(revisit, base, case_no, "revisit_party", "revisit", {
        "revisit_method": "phone", "revisit_at": "2026-11-24T10:00:00+08:00",
        "contact_result": "reached", "satisfaction": 4, "problem_solved": True,
    })  # fmt: skip

    county = open_as("county01")
    county.goto(f"{base}/#/cases/{case_no}")
    expect(county.get_by_test_id("case-status")).to_have_text("已办结")
    expect(county.get_by_test_id("timeline")).to_contain_text("回访")
    expect(county.get_by_test_id("case-diagram")).to_have_attribute("data-drawn", "1")
    screens.shot(county, "case-closed", full_page=False)


@pytest.mark.browser
def test_a_422_is_shown_on_the_field_it_names(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    console.seed("DEMO-2026-0005")  # reported, waiting for screening at 西湖 (town02)
    page = open_as("town02")
    claim(page, console.base, "DEMO-2026-0005", "screen_case")
    # Register without an opinion: the server refuses, naming /screen_opinion.
    fill_form(page, "screen", {"screen_outcome": "register", "category": "housing",
                               "severity": "yellow", "difficulty": "simple",
                               "urgency": "normal"})  # fmt: skip
    page.get_by_role("button", name="提交办结").click()
    field_error = page.locator("#root_screen_opinion__error")
    expect(field_error).to_be_visible()
    expect(field_error).not_to_be_empty()
    expect(page.get_by_role("alert")).to_contain_text("甄别意见")  # the banner names the field
    expect(page.get_by_test_id("task-page")).to_have_attribute("data-task-state", "claimed")
    screens.shot(page, "task-422")
    # Fixed and sent again: accepted.
    page.locator("#root_screen_opinion").fill("经核实，情况属实。")
    page.get_by_role("button", name="提交办结").click()
    expect(page.get_by_test_id("task-page")).to_have_attribute("data-task-state", "completed")


@pytest.mark.browser
def test_a_claim_lost_to_a_colleague_is_said_clearly(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    console.seed("DEMO-2026-0008")  # waiting for the village's review (village01's unit)
    console.add_user("village01b", "village_cmte", "qs-dc-hp", "colleague-pass")
    mine = open_as("village01")
    # Their live feed is down (a phone in a lift): the inbox is not told of the colleague's claim.
    mine.route("**/api/v1/events", lambda route: route.abort())
    mine.goto(f"{console.base}/#/inbox?scope=candidate")
    mine.reload()  # drop the stream opened at sign-in
    item = mine.locator("[data-testid=task-item][data-case-no='DEMO-2026-0008']")
    expect(item).to_be_visible()
    # A colleague of the same unit claims it first, in their own console.
    task_id = item.get_attribute("data-task-id")
    colleague = open_as("village01b", password="colleague-pass")
    colleague.goto(f"{console.base}/#/tasks/{task_id}")
    colleague.get_by_role("button", name="领取").click()
    expect(colleague.get_by_test_id("task-assignee")).to_contain_text("village01b")
    # The first user's inbox still shows the old list; their click loses.
    item.get_by_role("button", name="领取").click()
    expect(mine.get_by_role("alert")).to_contain_text("已被他人领取")
    screens.shot(mine, "claim-lost")


@pytest.mark.browser
def test_comment_then_assign_to_a_colleague_with_a_reason(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    console.seed("DEMO-2026-0008")  # waiting for the village's review
    console.add_user("village01b", "village_cmte", "qs-dc-hp", "colleague-pass")
    page = open_as("village01")
    claim(page, console.base, "DEMO-2026-0008", "review_result")
    page.locator("textarea[name=comment]").fill("已电话联系双方，下周复核。")
    page.get_by_role("button", name="添加备注").click()
    expect(page.get_by_test_id("comments")).to_contain_text("已电话联系双方")
    page.get_by_role("button", name="转派").click()
    # The chooser offers the users who hold the task's role in its unit.
    page.locator("select[name=assignee]").select_option("village01b")
    page.locator("textarea[name=assign_reason]").fill("本人外出培训，由同事审核。")
    page.get_by_role("button", name="确认转派").click()
    expect(page.get_by_test_id("task-assignee")).to_contain_text("village01b")
    # The colleague finds it in their own inbox, with the comment.
    colleague = open_as("village01b", password="colleague-pass")
    item = colleague.locator("[data-testid=task-item][data-case-no='DEMO-2026-0008']")
    expect(item).to_be_visible()
    item.get_by_role("link").first.click()
    expect(colleague.get_by_test_id("comments")).to_contain_text("已电话联系双方")
    screens.shot(colleague, "task-assigned")
