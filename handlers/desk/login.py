"""Who may use the staff desk, and `/desk`: a single-use login link sent in a private chat.

Only the hash of a link's token is stored, so the table cannot be used to log in. The desk process
publishes where it is reachable (`site_url`); without it, chat has no link to give.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from handlers.community.model import Person, Role
from handlers.context import Context
from handlers.desk import texts
from handlers.messages import ChatKind

LINK_VALID = timedelta(minutes=10)
# Residents never get a desk; neither do volunteers, liaisons or building leaders (no desk work yet).
DESK_ROLES = frozenset({Role.STAFF, Role.ADMIN, Role.GRID_LEADER, Role.GRID_MEMBER})


@runtime_checkable
class DeskLogins(Protocol):
    """Storage of login links and of where the desk is published."""

    async def site_url(self) -> str | None: ...
    async def add_login_link(
        self, person_id: int, token_hash: str, now: datetime, expires_at: datetime
    ) -> None: ...


def may_use_desk(person: Person | None) -> bool:
    return person is not None and person.has(*DESK_ROLES)


def token_hash(token: str) -> str:
    """What is stored for a login link or a session: the SHA-256 of its random token."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


async def issue_link(
    logins: DeskLogins, person: Person, now: datetime, site: str | None = None
) -> str | None:
    """A new single-use login URL for `person`, valid LINK_VALID, on `site` or where the desk is published;
    None when it is not published."""
    site = site or await logins.site_url()
    if site is None:
        return None
    token = secrets.token_urlsafe(32)
    await logins.add_login_link(person.id, token_hash(token), now, now + LINK_VALID)
    return f"{site.rstrip('/')}/login/{token}"


async def desk_command(ctx: Context, _args: str) -> None:
    """/desk: send a staff member, grid leader or grid member a login link for the desk."""
    if ctx.incoming.chat_kind is ChatKind.GROUP:
        await ctx.answer(texts.DESK_ONLY_PRIVATE)  # a link posted in a group could be used by anyone there
        return
    person = ctx.person
    if person is None or not may_use_desk(person):
        await ctx.answer(texts.DESK_NOT_FOR_YOU)
        return
    logins = getattr(ctx.uow, "desk", None)
    url = await issue_link(logins, person, ctx.clock.now()) if isinstance(logins, DeskLogins) else None
    if url is None:
        await ctx.answer(texts.DESK_NOT_PUBLISHED)
        return
    await ctx.answer(texts.desk_link(url, int(LINK_VALID.total_seconds() // 60)))
