"""The case page: the diagram with an escalated case's state drawn on it, and live updates
from the event stream without reloading."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from demo import scenarios as sc
from tests.browser.conftest import Console, Opener, Screens


@pytest.mark.browser
def test_the_diagram_of_an_escalated_case(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    console.seed("DEMO-2026-0003")  # escalated grid → village → township, to dispatch at town01
    active = {t.element_id for t in console.driver.open_tasks("DEMO-2026-0003")}
    assert active, "the escalated demo case has an open task"
    page = open_as("town01")
    page.goto(f"{console.base}/#/cases/DEMO-2026-0003")
    diagram = page.get_by_test_id("case-diagram")
    expect(diagram).to_have_attribute("data-drawn", "1")
    for element in active:  # the task waiting now is drawn as active, with its badge
        expect(
            diagram.locator(f"g.djs-element.bh-active[data-element-id='{element}']")
        ).to_be_attached()
    expect(diagram.locator(".bh-badge-active").first).to_be_visible()
    # What was done is drawn as done: the escalation went through the review twice.
    expect(
        diagram.locator("g.djs-element.bh-completed[data-element-id='review_result']")
    ).to_be_attached()
    expect(diagram.locator(".bh-badge-visits").first).to_be_visible()
    expect(page.get_by_text("已上提 2 次")).to_be_visible()
    screens.shot(page, "case-escalated", full_page=False)


@pytest.mark.browser
def test_the_case_page_follows_the_case_live(open_as: Opener, console: Console) -> None:
    console.seed("DEMO-2026-0005")  # reported, waiting for screening at 西河镇 (town02)
    page = open_as("town02")
    page.goto(f"{console.base}/#/cases/DEMO-2026-0005")
    expect(page.get_by_test_id("open-tasks")).to_contain_text("甄别")
    expect(page.get_by_test_id("case-page")).to_have_attribute("data-live", "1")
    # A colleague screens it elsewhere (in the engine, as their own console would).
    console.driver.do("DEMO-2026-0005", *sc.screen(severity="yellow", category="housing"))
    # The page shows it without a reload: the status moves on and the timeline grows.
    expect(page.get_by_test_id("case-page")).not_to_have_attribute("data-live-ticks", "0")
    expect(page.get_by_test_id("case-page")).not_to_have_attribute("data-status", "SCREENING")
    expect(page.get_by_test_id("timeline")).to_contain_text("甄别")
