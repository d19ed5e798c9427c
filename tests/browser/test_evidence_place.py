"""Evidence and place in the console: a grid worker reports from a phone with its position, a
second report near it about the same party is flagged for the screener, and a photo attached on
the case page shows as a thumbnail with its digest."""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Console, Opener, Screens
from tests.browser.fill import fill_form

# A tiny valid PNG (1×1, red): a photo the browser can draw.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8"
    "cfc000000301010018dd8db00000000049454e44ae426082"
)
SPOT = {"latitude": 30.274084, "longitude": 120.15507}


def report(page: Page, title: str, party: str) -> str:
    page.get_by_role("link", name="上报").click()
    expect(page.locator("#root_title")).to_be_visible()
    fill_form(page, "report", {
        "title": title, "source_channel": "grid_patrol", "grid_code": "qs-dc-hp-01",
        "location": "和平社区 3 号楼", "description": "夜间装修噪音，邻里争吵多次。",
        "category_hint": "neighbourhood", "parties": [{"name": party, "role": "applicant"}],
    })  # fmt: skip
    page.get_by_role("button", name="使用当前位置").click()
    expect(page.locator("#root_geo_lat")).to_have_value(str(SPOT["latitude"]))
    expect(page.locator("#root_geo_lng")).to_have_value(str(SPOT["longitude"]))
    page.get_by_role("button", name="上报", exact=True).click()
    created = page.get_by_test_id("created-case")
    expect(created).to_be_visible()
    return created.inner_text().strip()


@pytest.mark.browser
def test_place_duplicates_and_a_photo_on_the_case_page(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    grid = open_as("grid01", viewport=PHONE, geolocation=SPOT, permissions=["geolocation"])
    first = report(grid, "楼上装修噪音", "张三")
    second = report(grid, "又是楼上装修噪音", "张三")

    # The second case's page: its place, and the first case flagged as a possible duplicate.
    grid.goto(f"{console.base}/#/cases/{second}")
    expect(grid.get_by_test_id("case-coords")).to_contain_text("30.274084, 120.155070")
    expect(grid.get_by_test_id("case-address")).to_have_text("和平社区 3 号楼")
    flagged = grid.get_by_test_id("possible-duplicates")
    expect(flagged).to_contain_text(first)
    expect(flagged).to_contain_text("相距约 0 米")

    # A photo from the phone, attached on the case page.
    evidence = grid.get_by_test_id("evidence")
    evidence.get_by_label("选择文件").set_input_files(
        {"name": "现场.png", "mimeType": "image/png", "buffer": PNG}
    )
    evidence.get_by_role("button", name="上传").click()
    expect(evidence.get_by_role("status").or_(evidence.locator(".banner.ok"))).to_contain_text(
        "已上传"
    )
    item = evidence.get_by_test_id("attachment")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-kind", "photo")
    expect(item).to_contain_text(f"SHA-256 {hashlib.sha256(PNG).hexdigest()[:16]}")
    thumb = item.locator("img.thumb")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 1
    assert grid.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screens.shot(grid, "case-evidence-phone", full_page=False)

    # A file that is not evidence is refused with the server's reason, and nothing is added.
    evidence.get_by_label("选择文件").set_input_files(
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"MZ\x90\x00not a photo"}
    )
    evidence.get_by_role("button", name="上传").click()
    expect(evidence.locator(".banner.error")).to_contain_text("不支持的文件类型")
    expect(item).to_have_count(1)

    # The township centre finds both by place from the case page's 附近案件 link.
    town = open_as("town01")
    town.goto(f"{console.base}/#/cases/{second}")
    town.get_by_role("link", name="附近案件").click()
    table = town.get_by_test_id("case-table")
    expect(table).to_contain_text(first)
    expect(table).to_contain_text(second)
