"""Organisation units, users and their roles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base


class OrgUnit(Base):
    """An organisation unit: county, township, village/community, grid, or a department."""

    __tablename__ = "org_units"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # county|township|village|grid|department
    tier: Mapped[str | None] = mapped_column(String(16))  # grid|village|township|county
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"))
    # Materialised path "/county/township/village/": subtree = LIKE path || '%'
    path: Mapped[str] = mapped_column(String(600), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    __table_args__ = (Index("ix_user_roles_org_role", "org_id", "role"),)
