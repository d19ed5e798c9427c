"""The official holiday tables loaded into the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base


class CalendarYear(Base):
    """One year's official holiday table (国务院办公厅 节假日安排): ``bihuan calendar load``.

    In the database so that every node computes with it; it wins over the bundled table and the
    ``chinesecalendar`` package (the operator's override file still wins over it).
    """

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(100))  # the file's ``version``
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the year's content
    notice: Mapped[str | None] = mapped_column(String(500))
    holidays: Mapped[dict[str, Any]] = mapped_column(default=dict)  # "YYYY-MM-DD" → name
    workdays: Mapped[dict[str, Any]] = mapped_column(default=dict)  # 调休上班 days
    source_file: Mapped[str] = mapped_column(String(500))
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(64))
