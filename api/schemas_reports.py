"""Response models of the periodic reports (日排查·周汇总·月研判) and the 零报告."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas import Out, derived_from
from engine.supervision import ZeroReportView


class ReportSummaryOut(Out):
    id: int
    kind: str = Field(description="daily_screening | weekly_summary | monthly_analysis")
    org_id: str
    org_name: str
    period: str = Field(description="2026-10-15 (day), 2026-W42 (week), 2026-10 (month)")
    created_at: datetime
    title: str


class ReportOut(ReportSummaryOut):
    content: dict[str, Any]


@derived_from(ZeroReportView, open=bool)
class ZeroReportOut(Out):
    """A grid worker's 零报告 for one working day: open until the worker attests it."""
