"""Request and response models of 督办 and notices (api/routes/supervision.py, notices.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OrderKind = Literal["order", "listed", "circular", "interview", "inspection"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderIn(_In):
    """A 督办 to issue: on a case (``case_no``; the unit defaults to its handling unit) or on a
    unit (``target_org``)."""

    kind: OrderKind = "order"
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=5000)
    case_no: str | None = Field(default=None, max_length=100)
    target_org: str | None = Field(default=None, max_length=64)
    limit_days: int | None = Field(default=None, ge=1, le=30, description="working days")


class OutcomeIn(_In):
    """The outcome of a 约谈 or 督查 held."""

    outcome: str = Field(min_length=1, max_length=5000)
    improved: bool


class OrderOut(BaseModel):
    id: str
    kind: OrderKind
    label: str
    state: str
    case_no: str | None
    target_org: str
    title: str
    body: str
    trigger: str
    issued_at: str
    issued_by: str
    issued_role: str | None
    limit_days: int | None
    due_at: str | None
    level: int
    rung: str | None
    answer: dict[str, Any] | None
    answered_at: str | None
    answered_by: str | None
    outcome: str | None
    parent_id: str | None
    follow_up: OrderOut | None = None


class OrderList(BaseModel):
    items: list[OrderOut]


class Delivery(BaseModel):
    state: str
    attempts: int
    last_error: str | None


class NoticeOut(BaseModel):
    id: int
    kind: str
    case_no: str | None
    title: str
    body: str
    created_at: str
    recipient_user: str | None
    recipient_org: str | None
    recipient_role: str | None
    payload: dict[str, Any]
    delivery: Delivery
    read_at: str | None
    acked_at: str | None


class NoticeList(BaseModel):
    items: list[NoticeOut]
    unread: int
    unacked: int
    next_before_id: int | None


class AnswerFormOut(BaseModel):
    form_key: str
    form_schema: dict[str, Any]
    ui_schema: dict[str, Any]
