"""How long each imported field may be and which chat ids exist, so `--dry-run` refuses what the database would.

Text lengths are read from the tables themselves (storage/models): a column resized in a migration moves the
limit with it. SQLite ignores VARCHAR lengths and PostgreSQL enforces them, so without this a file that
validated (and imported on SQLite) could still fail half-way on PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String

from storage.models import (
    BuildingRow,
    CampaignRow,
    CategoryRouteRow,
    CompoundRow,
    GridRow,
    PersonRow,
    ResidentRow,
)


def _length(model: Any, column: str) -> int:
    kind = model.__table__.c[column].type
    if not isinstance(kind, String) or not kind.length:
        raise TypeError(f"{model.__name__}.{column} is not a text column with a length")
    return int(kind.length)


COMPOUND_NAME = _length(CompoundRow, "name")  # aliases too: they name the same compound
BUILDING_NUMBER = _length(BuildingRow, "number")
GRID_NAME = _length(GridRow, "name")
PERSON_NAME = _length(PersonRow, "name")
PERSON_PHONE = _length(PersonRow, "phone")
RESIDENT_NAME = _length(ResidentRow, "name")
UNIT = _length(ResidentRow, "unit")
ROOM = _length(ResidentRow, "room")
ROUTE_ROLES = _length(CategoryRouteRow, "role")  # a category's roles, stored comma-separated
CAMPAIGN_TITLE = _length(CampaignRow, "title")

# Telegram chat ids are signed 64-bit (BIGINT): users positive, groups and channels negative.
CHAT_ID_MIN, CHAT_ID_MAX = -(2**63), 2**63 - 1
MAX_UNITS = 999  # units per building (an INTEGER column; a real building has a handful)
MAX_NOTE = 1000  # a ledger note is free text in a TEXT column: bounded so one cell cannot be a whole file


def chat_id_in_range(chat_id: int) -> bool:
    return CHAT_ID_MIN <= chat_id <= CHAT_ID_MAX


# NUL (which PostgreSQL refuses in text), the other C0 controls but tab and line breaks, DEL, lone surrogates.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def control_character(text: str) -> str | None:
    """The first character no name or address should hold, if any."""
    found = CONTROL.search(text)
    return found.group() if found else None
