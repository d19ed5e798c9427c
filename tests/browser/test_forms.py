"""Every shipped form rendered with empty data in the console's real renderer invents nothing:
what the form would submit is ``{}`` plus only the ``default``s the schema itself declares —
no first option of an enum or oneOf picked, no array items made up, no const taken as a value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Opener, Screens

FORMS = Path(__file__).resolve().parents[2] / "forms"
SCHEMAS = sorted(FORMS.glob("*.schema.json"))


def declared_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The top-level defaults the schema states (none of the shipped forms states one today)."""
    return {k: p["default"] for k, p in schema.get("properties", {}).items() if "default" in p}


@pytest.mark.browser
def test_every_shipped_form_starts_empty(open_as: Opener, screens: Screens) -> None:
    assert len(SCHEMAS) >= 20
    page = open_as("town01")
    page.goto(page.url.split("#")[0] + "#/dev/forms")
    for path in SCHEMAS:
        schema = json.loads(path.read_text(encoding="utf-8"))
        ui_path = path.with_name(path.name.replace(".schema.json", ".uischema.json"))
        ui = ui_path.read_text(encoding="utf-8") if ui_path.exists() else ""
        page.locator("textarea[name=schema]").fill(json.dumps(schema, ensure_ascii=False))
        page.locator("textarea[name=uischema]").fill(ui)
        page.get_by_test_id("render-form").click()
        form = page.get_by_test_id("form")
        expect(form.locator("legend, .control-label").first).to_be_visible()
        page.get_by_role("button", name="提交（仅预览）").click()
        submitted = page.get_by_test_id("form-submitted")
        expect(submitted).to_be_visible()
        data = json.loads(submitted.inner_text())
        assert data == declared_defaults(schema), f"{path.name}: the renderer invented {data}"
        # No radio, checkbox or select option is chosen for the caseworker.
        assert form.locator("input[type=radio]:checked").count() == 0, path.name
        assert form.locator("input[type=checkbox]:checked").count() == 0, path.name
        for select in form.locator("select").all():
            assert select.input_value() == "", (
                f"{path.name}: a select starts on {select.input_value()}"
            )
        if path.name == "screen.schema.json":
            screens.shot(page, "form-screen-empty")


@pytest.mark.browser
def test_a_branch_shows_only_its_own_fields_and_sends_only_them(open_as: Opener) -> None:
    page = open_as("town01")
    page.goto(page.url.split("#")[0] + "#/dev/forms")
    page.locator("textarea[name=schema]").fill((FORMS / "screen.schema.json").read_text("utf-8"))
    page.locator("textarea[name=uischema]").fill(
        (FORMS / "screen.uischema.json").read_text("utf-8")
    )
    page.get_by_test_id("render-form").click()
    outcome = page.locator("#root_screen_outcome")
    expect(outcome).to_be_visible()
    # No outcome yet: no branch's fields.
    for field in ("category", "invalid_reason", "master_case_no", "diverted_channel"):
        expect(page.locator(f"#root_{field}")).to_have_count(0)
    outcome.get_by_text("立案登记", exact=True).click()
    expect(page.locator("#root_category")).to_be_visible()
    expect(page.locator("#root_invalid_reason")).to_have_count(0)
    page.locator("select#root_category").select_option(label="邻里关系")
    # Another outcome: its field appears, the registered case's fields go, with their values.
    outcome.get_by_text("不予受理", exact=True).click()
    expect(page.locator("#root_invalid_reason")).to_be_visible()
    expect(page.locator("#root_category")).to_have_count(0)
    page.get_by_role("button", name="提交（仅预览）").click()
    sent = json.loads(page.get_by_test_id("form-submitted").inner_text())
    assert sent == {"screen_outcome": "invalid"}, sent
