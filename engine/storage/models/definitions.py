"""Deployed definitions and the instances that run them.

Instances store the workflow's *state* only; the process spec is stored once per definition
version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base, JsonType


class Bundle(Base):
    """One deployment: the exact files, byte for byte."""

    __tablename__ = "bundles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(64))


class BundleFile(Base):
    __tablename__ = "bundle_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # bpmn|dmn|form
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    __table_args__ = (UniqueConstraint("bundle_id", "filename"),)


class Definition(Base):
    """A definition version: one executable process id at one content hash."""

    __tablename__ = "definitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))
    source_file: Mapped[str] = mapped_column(String(300))
    # Serialized process spec + subprocess specs, stored once per version.
    spec: Mapped[dict[str, Any]]
    # Per-element facts the engine needs without loading the spec (forms, lanes, names).
    elements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "content_hash", name="uq_definitions_process_hash"),
    )


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running|suspended|completed|cancelled|error
    # Optimistic concurrency: every command bumps it with a conditional UPDATE.
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[dict[str, Any]]
    serializer_version: Mapped[str] = mapped_column(String(16))
    spiff_version: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the projections hold for this instance, so a command touches only what changed:
    # {spiff task id: human task id} of open tasks, and the keys of waiting timers/messages.
    open_tasks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    waits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    loop_compactions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    status_reason: Mapped[str | None] = mapped_column(Text)
    # A finished instance keeps no state (it never runs again): what its diagram overlay shows
    # is kept here instead (packed, engine/runtime/diagram.py); None while it runs.
    element_states: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    __mapper_args__ = {"version_id_col": version}


class MessageWait(Base):
    """A message an instance is waiting for, so delivery finds it without loading instances."""

    __tablename__ = "message_waits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    message_name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str] = mapped_column(String(200))
    __table_args__ = (Index("ix_message_waits_lookup", "message_name", "correlation_key"),)
