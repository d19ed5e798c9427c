"""The process designer (流程设计) in a real browser: the definitions and their versions, the
modeler with bihuan's properties panel, validation drawn on the diagram, deploy, version diff.

The modeler must round-trip what it does not edit: the XML it saves after one property change
is compared, element by element, with the shipped ``processes/dispute.bpmn`` carrying the same
single change.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import httpx
import pytest
from lxml import etree
from playwright.sync_api import FilePayload, Page, expect

from demo.seed import _bundle
from engine.runtime import files_from_paths
from engine.spiff import BundleFile
from tests.browser.conftest import ROOT, Console, Opener, Screens
from tests.engine.support import DESIGNER

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
# Attributes at their BPMN default (bpmn-js leaves them out when it writes).
DEFAULTS = {
    (f"{{{BPMN}}}boundaryEvent", "cancelActivity"): "true",
    (f"{{{BPMN}}}startEvent", "isInterrupting"): "true",
}


# ---------------------------------------------------------------- helpers


def _qname_value(el: etree._Element, value: str) -> str:
    """``bpmn:tFormalExpression`` → ``{namespace}tFormalExpression`` (prefixes may differ)."""
    prefix, _, local = value.rpartition(":")
    ns = el.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else value


Canon = tuple[str, tuple[tuple[str, str], ...], str, tuple["Canon", ...]]


def canonical(el: etree._Element) -> Canon:
    """An element's meaning: tag, attributes, text and children (no prefixes, no whitespace,
    attribute order ignored)."""
    attrs = tuple(
        sorted(
            (str(k), _qname_value(el, str(v)) if k == XSI_TYPE else str(v))
            for k, v in el.attrib.items()
            if DEFAULTS.get((str(el.tag), str(k))) != v
        )
    )
    children = tuple(canonical(c) for c in el if isinstance(c.tag, str))
    if el.tag == f"{{{BPMNDI}}}BPMNPlane":  # the order of shapes is only the drawing order
        children = tuple(sorted(children, key=repr))
    return (str(el.tag), attrs, (el.text or "").strip(), children)


def lines(el: etree._Element, path: str = "") -> list[str]:
    """The canonical form as one line per element, to show a readable diff on failure."""
    _, attrs, text, _ = canonical(el)
    here = f"{path}/{etree.QName(el).localname}[{el.get('id') or ''}]"
    out = [f"{here} {list(attrs)} {text!r}"]
    children = [c for c in el if isinstance(c.tag, str)]
    if el.tag == f"{{{BPMNDI}}}BPMNPlane":
        children.sort(key=lambda c: repr(canonical(c)))
    for child in children:
        out += lines(child, here)
    return out


def set_property(root: etree._Element, element_id: str, name: str, value: str) -> None:
    node = root.find(f".//*[@id='{element_id}']")
    assert node is not None, element_id
    prop = node.find(
        f"{{{BPMN}}}extensionElements/{{{SPIFF}}}properties/{{{SPIFF}}}property[@name='{name}']"
    )
    assert prop is not None, f"{element_id} has no property {name}"
    prop.set("value", value)


def open_modeler(page: Page, base: str, process_id: str, version: int) -> None:
    page.goto(f"{base}/#/designer/{process_id}/{version}/edit")
    expect(page.get_by_test_id("modeler-canvas").locator(".djs-element").first).to_be_attached()
    expect(page.get_by_test_id("bundle-files")).to_contain_text("report.schema.json")


def select_element(page: Page, element_id: str) -> None:
    page.get_by_test_id("find-element").select_option(element_id)
    expect(page.locator(".bio-properties-panel-header-label")).to_be_visible()


# ---------------------------------------------------------------- tests


@pytest.mark.browser
def test_a_designer_edits_a_deadline_deploys_version_2_and_sees_the_change_in_the_diff(
    open_as: Opener, console: Console, screens: Screens, tmp_path: Path
) -> None:
    page = open_as("designer")
    page.get_by_role("link", name="流程", exact=True).click()
    expect(page.get_by_test_id("version-dispute-1")).to_be_visible()
    expect(page.get_by_test_id("version-dispute-2")).to_have_count(0)
    screens.shot(page, "designer-definitions")

    # The version in the viewer, and its bundle's decision table in dmn-js.
    page.get_by_test_id("version-dispute-1").click()
    expect(page.locator("[data-testid=version-canvas][data-ready='1']")).to_be_visible()
    expect(
        page.locator("[data-testid=version-canvas] [data-element-id=screen_case]")
    ).to_be_attached()
    screen = page.get_by_test_id("task-row-screen_case")
    expect(screen).to_contain_text("乡镇(街道)综治中心")
    expect(screen).to_contain_text("screen.schema.json")
    expect(screen).to_contain_text("dispute.screen")
    page.get_by_test_id("dmn-dispute_routing.dmn").click()
    expect(page.get_by_test_id("dmn-view")).to_contain_text("风险等级")
    screens.shot(page, "designer-version")

    # The modeler: the deadline key of 甄别研判 is a choice among deadlines.yaml's keys.
    page.get_by_test_id("open-modeler").click()
    expect(page.get_by_test_id("bundle-files")).to_contain_text("dispute_routing.dmn")
    expect(page.get_by_test_id("import-warnings")).to_have_count(0)
    select_element(page, "screen_case")
    expect(page.locator(".bio-properties-panel-header-label")).to_have_text("甄别研判")
    deadline = page.get_by_test_id("properties-panel").locator("select[name='bihuan-deadline']")
    expect(deadline).to_have_value("dispute.screen")
    # The keys and their titles come from the server's catalog (deadlines.yaml).
    expect(deadline.locator("option[value='dispute.sign']")).to_contain_text("签收")
    expect(deadline.locator("option[value='dispute.tier_grid']")).to_have_count(1)
    deadline.select_option("dispute.sign")
    expect(page.get_by_text("已修改 modified")).to_be_visible()
    screens.shot(page, "designer-modeler", full_page=False)

    # What the modeler saves is the shipped file with exactly that one change.
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 XML").click()
    saved = tmp_path / "saved.bpmn"
    download.value.save_as(saved)
    expected = etree.parse(str(ROOT / "processes" / "dispute.bpmn")).getroot()
    set_property(expected, "screen_case", "deadline", "dispute.sign")
    got = etree.parse(str(saved)).getroot()
    diff = list(difflib.unified_diff(lines(expected), lines(got), lineterm="", n=0))
    assert canonical(got) == canonical(expected), "\n".join(diff[:40])

    page.get_by_test_id("deploy").click()
    expect(page.get_by_test_id("modeler-status")).to_contain_text("dispute 版本 2")

    # The server holds version 2 with the new deadline key.
    token = page.evaluate("() => sessionStorage.getItem('bihuan.token')")
    xml = httpx.get(
        f"{console.base}/api/v1/definitions/dispute/versions/2/xml",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert xml.status_code == 200
    root = etree.fromstring(xml.content)
    prop = root.find(
        f".//*[@id='screen_case']/{{{BPMN}}}extensionElements/{{{SPIFF}}}properties/"
        f"{{{SPIFF}}}property[@name='deadline']"
    )
    assert prop is not None and prop.get("value") == "dispute.sign"

    # Version 2 is listed; the diff of v1 and v2 shows the one changed element and property.
    page.get_by_role("link", name="流程", exact=True).click()
    expect(page.get_by_test_id("version-dispute-2")).to_be_visible()
    page.get_by_role("link", name="版本对比").first.click()
    rows = page.get_by_test_id("diff-list").locator("tbody tr")
    expect(rows).to_have_count(1)
    row = page.get_by_test_id("diff-row-screen_case")
    expect(row).to_have_attribute("data-kind", "changed")
    expect(row).to_contain_text("deadline: dispute.screen → dispute.sign")
    for side in ("before", "after"):
        canvas = page.get_by_test_id(f"diff-canvas-{side}")
        expect(
            canvas.locator(".djs-element.bh-diff-changed[data-element-id=screen_case]")
        ).to_have_count(1)
        expect(page.get_by_test_id(f"diff-{side}-screen_case")).to_have_text("修改")
    screens.shot(page, "designer-diff")


@pytest.mark.browser
def test_the_modeler_saves_an_untouched_process_as_it_was(
    open_as: Opener, console: Console, tmp_path: Path
) -> None:
    # whistle.bpmn carries what the dispute does not: a post-script, a multi-instance task
    # with spiffworkflow:scriptsOnInstances.
    page = open_as("designer")
    open_modeler(page, console.base, "whistle", 1)
    expect(page.get_by_test_id("import-warnings")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 XML").click()
    saved = tmp_path / "whistle.bpmn"
    download.value.save_as(saved)
    expected = etree.parse(str(ROOT / "processes" / "whistle.bpmn")).getroot()
    got = etree.parse(str(saved)).getroot()
    diff = list(difflib.unified_diff(lines(expected), lines(got), lineterm="", n=0))
    assert canonical(got) == canonical(expected), "\n".join(diff[:40])


@pytest.mark.browser
def test_validate_shows_each_problem_on_the_element_it_names(
    open_as: Opener, console: Console, screens: Screens
) -> None:
    page = open_as("designer")
    open_modeler(page, console.base, "dispute", 1)

    # A user task without a form is a confirmation (it deploys, with a warning), and a business
    # rule task without a decision is broken.
    select_element(page, "screen_case")
    page.get_by_test_id("properties-panel").locator("select[name='bihuan-form']").select_option("")
    select_element(page, "route_tier")
    decision = page.get_by_test_id("properties-panel").locator("select[name='bihuan-decision']")
    expect(decision).to_have_value("dispute_routing")
    decision.select_option("")
    # And a file of the bundle that no diagram element owns: a form that is not JSON.
    broken: FilePayload = {
        "name": "broken.schema.json",
        "mimeType": "application/json",
        "buffer": b"{ nope",
    }
    page.get_by_test_id("attach").set_input_files([broken])
    expect(page.get_by_test_id("bundle-files")).to_contain_text("broken.schema.json")

    page.get_by_test_id("validate").click()
    expect(page.get_by_test_id("modeler-status")).to_contain_text("2 个问题")
    canvas = page.get_by_test_id("modeler-canvas")
    expect(page.get_by_test_id("problem-route_tier")).to_contain_text(
        "business rule task names no decision"
    )
    expect(canvas.locator(".djs-element.bh-problem[data-element-id=route_tier]")).to_have_count(1)
    expect(canvas.locator(".djs-element.bh-problem[data-element-id=screen_case]")).to_have_count(0)
    expect(page.get_by_test_id("problems-on-diagram").locator("tr")).to_have_count(1)
    elsewhere = page.get_by_test_id("problems-elsewhere")
    expect(elsewhere.locator("tr")).to_have_count(1)
    expect(elsewhere).to_contain_text("broken.schema.json")
    expect(elsewhere).to_contain_text("invalid JSON")
    page.get_by_test_id("find-element").select_option("route_tier")
    screens.shot(page, "designer-validate", full_page=False)

    # Nothing was deployed.
    page.get_by_role("link", name="流程", exact=True).click()
    expect(page.get_by_test_id("version-dispute-1")).to_be_visible()
    expect(page.get_by_test_id("version-dispute-2")).to_have_count(0)


@pytest.mark.browser
def test_a_caseworker_reads_definitions_but_gets_no_modeler(
    open_as: Opener, console: Console
) -> None:
    page = open_as("town01")
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url))
    page.get_by_role("link", name="流程", exact=True).click()
    expect(page.get_by_test_id("version-dispute-1")).to_be_visible()
    expect(page.get_by_role("link", name="在建模器中打开")).to_have_count(0)
    page.get_by_test_id("version-dispute-1").click()
    expect(page.locator("[data-testid=version-canvas][data-ready='1']")).to_be_visible()
    expect(page.get_by_test_id("open-modeler")).to_have_count(0)
    page.goto(f"{console.base}/#/designer/dispute/1/edit")  # typed by hand
    expect(page.get_by_test_id("no-modeler")).to_be_visible()
    # The modeler (bpmn-js Modeler, properties panel) is a chunk of its own, never fetched here.
    assert any("/assets/designer-" in url for url in loaded)
    assert not [url for url in loaded if "createModeler" in url]


@pytest.mark.browser
def test_the_diff_shows_added_removed_and_changed_elements(
    open_as: Opener, console: Console
) -> None:
    # Version 2 renames the script task set_merged: for the diff, one element removed, one
    # added, and the two flows and the lane that refer to it changed.
    source = (ROOT / "processes" / "dispute.bpmn").read_text(encoding="utf-8")
    renamed = source.replace('"set_merged"', '"merge_into_main"').replace(
        ">set_merged<", ">merge_into_main<"
    )
    assert renamed != source
    files = [
        BundleFile(f.filename, renamed.encode()) if f.filename == "dispute.bpmn" else f
        for f in files_from_paths(_bundle(ROOT / "processes", ROOT / "forms"))
    ]
    console.engine.deploy(files, DESIGNER)

    page = open_as("designer")
    page.goto(f"{console.base}/#/designer/dispute/diff/1/2")
    expect(page.get_by_test_id("diff-list").locator("tbody tr")).to_have_count(5)
    expect(page.get_by_test_id("diff-row-set_merged")).to_have_attribute("data-kind", "removed")
    expect(page.get_by_test_id("diff-row-merge_into_main")).to_have_attribute("data-kind", "added")
    expect(page.get_by_test_id("diff-row-f_screen_merge")).to_contain_text(
        "targetRef: set_merged → merge_into_main"
    )
    expect(page.get_by_test_id("diff-row-f_merged_end")).to_contain_text(
        "sourceRef: set_merged → merge_into_main"
    )
    expect(page.get_by_test_id("diff-row-lane_township")).to_have_attribute("data-kind", "changed")
    before = page.get_by_test_id("diff-canvas-before")
    after = page.get_by_test_id("diff-canvas-after")
    expect(before.locator(".bh-diff-removed[data-element-id=set_merged]")).to_have_count(1)
    expect(after.locator(".bh-diff-added[data-element-id=merge_into_main]")).to_have_count(1)
    expect(after.locator("[data-element-id=set_merged]")).to_have_count(0)
