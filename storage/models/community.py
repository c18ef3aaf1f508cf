"""Tables of the community structure: compounds, buildings, grids, people, routes, settings, residents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime


class CompoundRow(Base):
    __tablename__ = "compounds"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    aliases: Mapped[list[str]] = mapped_column(default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class BuildingRow(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("compound_id", "number", name="uq_buildings_compound_number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    number: Mapped[str] = mapped_column(String(16))
    units: Mapped[int] = mapped_column(Integer, default=0)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)


class GridRow(Base):
    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", use_alter=True))
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger)


class PersonRow(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # NULL until they join with an invite link (migration 0012): nothing is routed to them before.
    chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    roles: Mapped[list[str]] = mapped_column(default=list)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    on_leave: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    duty: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"days": [0..6], "start": "08:00", "end": ..}


class InviteRow(Base):
    """A single-use invite link (migration 0012); only the hash of its code is kept."""

    __tablename__ = "invites"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    resident_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)
    used_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class CategoryRouteRow(Base):
    __tablename__ = "category_routes"
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))


class CommunitySettingsRow(Base):
    """How the community works (assignment, SLAs, check-in time): one row, replaced by `org import`."""

    __tablename__ = "community_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column()


class ResidentRow(Base):
    __tablename__ = "residents"
    # The desk's search by a resident's name (migration 0018; the phone's index is in models/desk.py).
    __table_args__ = (Index("ix_residents_name", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    consented_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    unit: Mapped[str | None] = mapped_column(String(8))
    room: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    checkin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class CommunityVersionRow(Base):
    """One number the database bumps on every change to the tables above (triggers, migration 0015):
    processes keep the community in memory and compare this number per update (storage/community_cache.py)."""

    __tablename__ = "community_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
