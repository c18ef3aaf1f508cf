"""The people and places of a community: roles, compounds, buildings, grids, persons and residents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum


class Role(StrEnum):
    """What a person does in the community's "党建+网格" structure."""

    GRID_MEMBER = "grid_member"  # 网格员
    GRID_LEADER = "grid_leader"  # 网格长
    BUILDING_LEADER = "building_leader"  # 楼栋长
    HOUSEHOLD_LIAISON = "household_liaison"  # 十户联户长
    VOLUNTEER = "volunteer"  # 党员志愿者
    POLICE_LIAISON = "police_liaison"  # 社区民警
    STAFF = "staff"  # 社区工作人员
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.GRID_MEMBER: "网格员",
    Role.GRID_LEADER: "网格长",
    Role.BUILDING_LEADER: "楼栋长",
    Role.HOUSEHOLD_LIAISON: "联户长",
    Role.VOLUNTEER: "志愿者",
    Role.POLICE_LIAISON: "社区民警",
    Role.STAFF: "社区工作人员",
    Role.ADMIN: "管理员",
}

# Roles that may take work orders as assignees.
HANDLING_ROLES = frozenset(
    {Role.GRID_MEMBER, Role.GRID_LEADER, Role.BUILDING_LEADER, Role.STAFF, Role.ADMIN, Role.POLICE_LIAISON}
)


# The role a person is introduced by, first match wins (a grid leader who is also staff is 网格长).
_TITLE_ROLES = (Role.GRID_MEMBER, Role.GRID_LEADER, Role.BUILDING_LEADER, Role.POLICE_LIAISON, Role.STAFF)


@dataclass(frozen=True)
class Compound:
    id: int
    name: str
    aliases: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Building:
    id: int
    compound_id: int
    compound_name: str
    number: str
    units: int = 0

    @property
    def label(self) -> str:
        return f"{self.compound_name}{self.number}号楼"


@dataclass(frozen=True)
class Grid:
    id: int
    name: str
    leader_id: int | None = None
    group_chat_id: int | None = None


@dataclass(frozen=True)
class DutyHours:
    """When someone is on duty: weekdays (0 = Monday) and a daily local-time window."""

    weekdays: frozenset[int]
    start: time
    end: time

    def covers(self, moment: datetime) -> bool:
        return moment.weekday() in self.weekdays and self.start <= moment.time() < self.end


@dataclass(frozen=True)
class Person:
    """Someone with a role in the community structure (not an ordinary resident)."""

    id: int
    name: str
    chat_id: int
    roles: frozenset[Role]
    grid_id: int | None = None
    deputy_id: int | None = None  # takes new orders while this person is on leave or off duty
    on_leave: bool = False
    duty: DutyHours | None = None  # None: always on duty

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def available(self, moment: datetime) -> bool:
        """On duty and not on leave: can take a new order now."""
        return not self.on_leave and (self.duty is None or self.duty.covers(moment))

    @property
    def is_staff(self) -> bool:
        return self.has(Role.STAFF, Role.ADMIN)

    @property
    def title(self) -> str:
        """How residents see this person, e.g. 网格员 李娜."""
        role = self.role_label
        return f"{role} {self.name}" if role else self.name

    @property
    def role_label(self) -> str:
        """The role residents know this person by (网格员, 社区民警, 社区工作人员 …); "" for none of them."""
        for role in _TITLE_ROLES:
            if role in self.roles:
                return role.label
        return ""


@dataclass
class Resident:
    """A person who talks to the bot about their own home. Address parts are optional."""

    id: int | None
    chat_id: int
    name: str
    consented_at: datetime | None = None
    building_id: int | None = None
    unit: str | None = None
    room: str | None = None
    phone: str | None = None
    phone_consent: bool = False
    checkin: bool = False  # opted in to the daily 平安问候

    @property
    def has_consented(self) -> bool:
        return self.consented_at is not None


@dataclass(frozen=True)
class Invite:
    """A single-use, expiring link that binds the chat which opens it to a person or a new resident.

    Only the hash of its code is kept: the table cannot be used to join as anyone.
    """

    code_hash: str
    created_at: datetime
    expires_at: datetime
    person_id: int | None = None  # someone of the community structure (people)
    resident_name: str | None = None  # or a resident, by the name staff know them by
    used_at: datetime | None = None


@dataclass(frozen=True)
class Invitee:
    """Someone of the community structure as an invite names them: joined (has a chat) or not yet."""

    person_id: int
    name: str
    joined: bool


# A resident who deleted their data keeps an anonymous row (their orders stay, for the statistics) under a
# chat id no Telegram chat can have (Telegram's ids fit in 52 bits): nobody is ever linked to it again,
# and nothing is sent to it (handlers/context.py).
ERASED_CHATS_BELOW = -(2**60)


def erased_chat_id(resident_id: int) -> int:
    """The chat id of a resident's anonymous row once they deleted their data."""
    return ERASED_CHATS_BELOW - resident_id


def is_erased_chat(chat_id: int) -> bool:
    return chat_id <= ERASED_CHATS_BELOW
