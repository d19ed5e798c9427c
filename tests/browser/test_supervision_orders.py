"""The 督办单 screen: a 督办员 issues a 督办单 to a unit; the unit's officer answers it with a
情况说明 (the server's form, errors named by field) and the 督办员 sees it answered; the
notice is acknowledged."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Opener, Screens
from tests.browser.fill import _fill_object, load_form


@pytest.mark.browser
def test_a_supervisor_issues_an_order_and_the_unit_answers_it(
    open_as: Opener, screens: Screens
) -> None:
    boss = open_as("super01")
    boss.get_by_role("link", name="督办单").click()
    expect(boss.get_by_role("heading", name="督办单")).to_be_visible()
    issue = boss.get_by_role("form", name="下发督办")
    issue.locator("input[name=title]").fill("欠薪纠纷久拖未决，请说明情况")
    issue.locator("input[name=target_org]").fill("qs-dc-pcs")
    issue.locator("input[name=limit_days]").fill("2")
    issue.locator("textarea[name=body]").fill("请于两个工作日内报送情况说明。")
    issue.get_by_role("button", name="下发").click()
    expect(boss.get_by_role("status")).to_contain_text("已下发督办单")
    row = boss.get_by_test_id("order-row").filter(has_text="欠薪纠纷久拖未决")
    expect(row).to_contain_text("待回复")
    expect(row).to_contain_text("东城派出所")
    order_id = row.locator("td.mono").inner_text().strip()

    unit = open_as("police01")
    unit.get_by_role("link", name="待办").click()
    due = unit.get_by_test_id("orders-due")
    expect(due).to_contain_text("本单位有 1 件督办待回复")
    due.get_by_role("link", name="前往督办单").click()
    card = unit.get_by_test_id("order-answer").filter(has_text=order_id)
    expect(card).to_contain_text("欠薪纠纷久拖未决")
    expect(unit.get_by_test_id("notice").filter(has_text="欠薪纠纷")).to_be_visible()
    schema, ui = load_form("supervision_answer")
    prefix = f"answer-{order_id}"
    _fill_object(unit, prefix, schema, ui, {"explanation": "太短"})
    card.get_by_role("button", name="提交情况说明").click()
    expect(card.locator(".error-detail, .errors, [role=alert]").first).to_be_visible()
    _fill_object(unit, prefix, schema, ui, {
        "explanation": "已约见双方当事人，正在核实工资发放记录，预计下周办结。",
        "progress": "in_progress", "responsible_person": "高警官",
    })  # fmt: skip
    card.get_by_role("button", name="提交情况说明").click()
    expect(unit.get_by_role("status")).to_contain_text(f"已回复督办 {order_id}")
    expect(unit.get_by_test_id("order-answer")).to_have_count(0)
    screens.shot(unit, "supervision-order-answered")
    notice = unit.get_by_test_id("notice").filter(has_text="欠薪纠纷").first
    notice.get_by_role("button", name="签收").click()
    expect(notice).to_contain_text("已签收")

    boss.reload()
    row = boss.get_by_test_id("order-row").filter(has_text=order_id)
    expect(row).to_contain_text("已回复（police01）")
    screens.shot(boss, "supervision-orders")
