"""Fill a react-jsonschema-form in the console as a person would, from the data a curl step
would send: each field found by its rjsf id (``root_<name>``), options chosen by their Chinese
titles from the shipped schema, org/user pickers by value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

FORMS = Path(__file__).resolve().parents[2] / "forms"


def load_form(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8"))
    ui_file = FORMS / f"{name}.uischema.json"
    ui = json.loads(ui_file.read_text(encoding="utf-8")) if ui_file.exists() else {}
    return schema, ui


def _title_of(prop: dict[str, Any], value: Any) -> str:
    for option in prop.get("oneOf", []):
        if option.get("const") == value:
            return str(option["title"])
    raise KeyError(f"{value!r} is not an option of {prop.get('title')}")


def fill_form(page: Page, form: str, data: dict[str, Any]) -> None:
    schema, ui = load_form(form)
    _fill_object(page, "root", schema, ui, data)


def _fill_object(
    page: Page, prefix: str, schema: dict[str, Any], ui: dict[str, Any], data: dict[str, Any]
) -> None:
    for key, value in data.items():
        _fill(page, f"{prefix}_{key}", schema["properties"][key], ui.get(key, {}), value)


def _fill(page: Page, fid: str, prop: dict[str, Any], ui: dict[str, Any], value: Any) -> None:
    widget = ui.get("ui:widget")
    if widget in ("org-picker", "user-picker"):
        select = page.locator(f"select#{fid}")
        expect(select.locator(f"option[value='{value}']")).to_be_attached()
        select.select_option(value=value)
    elif prop.get("type") == "array" and prop["items"].get("type") == "object":
        holder = page.locator(f"#{fid}")
        for i, item in enumerate(value):
            holder.get_by_role("button", name="添加").last.click()
            _fill_object(page, f"{fid}_{i}", prop["items"], ui.get("items", {}), item)
    elif prop.get("type") == "array":
        for v in value:
            page.locator(f"#{fid}").get_by_text(_title_of(prop["items"], v), exact=True).click()
    elif prop.get("type") == "boolean":
        if widget == "radio":
            page.locator(f"#{fid}").get_by_text("是" if value else "否", exact=True).click()
        else:
            page.locator(f"input#{fid}").set_checked(bool(value))
    elif "oneOf" in prop:
        title = _title_of(prop, value)
        if widget == "radio":
            page.locator(f"#{fid}").get_by_text(title, exact=True).click()
        else:
            page.locator(f"select#{fid}").select_option(label=title)
    elif prop.get("format") == "date-time":
        # "2026-11-23T09:00:00+08:00" → the datetime-local input's "2026-11-23T09:00" (the
        # browser context runs in Asia/Shanghai).
        page.locator(f"#{fid}").fill(str(value)[:16])
    else:
        page.locator(f"#{fid}").fill(str(value))
