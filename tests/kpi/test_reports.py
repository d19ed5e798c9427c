"""The monthly report: files exist, the Markdown has its sections, the CSV parses; the CLI runs."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from engine.kpi import Period
from engine.kpi.reports import write_report
from engine.storage.database import Database
from tests.kpi.fixture import write_fixture

NOW = datetime(2026, 11, 15, tzinfo=UTC)


@pytest.fixture
def fixture_db(db: Database) -> Database:
    with db.session() as s:
        write_fixture(s)
    return db


def test_report_files(fixture_db: Database, tmp_path: Path) -> None:
    with fixture_db.session() as s:
        files = write_report(s, "/c/", Period.parse("2026-10"), tmp_path, NOW)
    text = files.markdown.read_text(encoding="utf-8")
    for section in (
        "# /c/ 2026-10 矛盾纠纷月研判报告",
        "## 一、总体情况",
        "## 二、化解层级分布",
        "## 三、各单位情况",
        "## 四、承办单位排名（月度通报）",
        "## 五、超期未办结案件",
        "## 六、近六个月趋势",
        "## 七、口径说明",
    ):
        assert section in text, section
    assert "| 按期办结率 | 72.7% | 8/11 |" in text
    assert "| 化解率 | 60.0% | 6/10 |" in text
    assert "| 村(社区) | 3 | 50.0% | ≥70% | 未达标 |" in text
    assert "| 1 | U-C | 90.0 |" in text and "| 3 | U-B | 53.0 |" in text
    assert "| A14 |" in text
    with files.csv.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["路径"] for r in rows] == ["/c/", "/c/t1/", "/c/t2/"]
    assert rows[0]["超期数"] == "4" and rows[0]["按期办结率"] == "0.7273"
    assert {p.name for p in files.charts} == {
        "overdue_by_unit.png",
        "resolution_tiers.png",
        "trend.png",
    }
    for chart in files.charts:
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli(fixture_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIHUAN_DATABASE_URL", fixture_db.url)
    monkeypatch.setenv("BIHUAN_SECRET_KEY", "s" * 40)
    runner = CliRunner()

    result = runner.invoke(app, ["audit", "anchor"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0 and "17 case(s)" in result.output, result.output
    result = runner.invoke(app, ["audit", "timeline", "A09"])
    assert result.exit_code == 0 and "重办次数：0 → 1" in result.output, result.output
    out = tmp_path / "a.jsonl"
    result = runner.invoke(
        app,
        [
            "audit",
            "export",
            "--out",
            str(out),
            "--format",
            "jsonl",
            "--org",
            "/c/t2/",
            "--case",
            "A15",
        ],
    )
    assert result.exit_code == 0, result.output
    # A15: instance_started, case_updated, dispatch_corrected, task_completed, case_updated
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5
    result = runner.invoke(
        app, ["report", "--org", "/c/", "--period", "2026-10", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c-2026-10" / "c-2026-10.md").exists()
    result = runner.invoke(app, ["report", "--org", "nowhere", "--period", "2026-10"])
    assert result.exit_code == 1
