"""Invite links: nobody has to find a Telegram chat id.

`gridbot org invite NAME` (and later the desk) makes a single-use, expiring link
`https://t.me/<bot>?start=<code>`; whoever opens it sends `/start <code>`, which binds that chat to the person
named (someone of the community structure, listed without a chat id or changing phones) or makes it the chat
of a new resident staff invited by name (e.g. to register them in the ledger). Only the code's hash is stored.
`/id` tells anyone their own chat id (and a group its id), for the few places that still ask for one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.community import registration
from handlers.community import texts as community_texts
from handlers.community.model import Invite, Resident, Role
from handlers.context import Context
from handlers.messages import ChatKind
from handlers.ports import CommunityRepository

INVITE_VALID = timedelta(days=7)
# What Telegram allows in a deep link's start parameter: 1-64 of A-Z a-z 0-9 _ -.
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class NotInvitable(Exception):
    """Nobody by that name can be invited (the CLI says so)."""


@dataclass(frozen=True)
class Issued:
    code: str  # what the link carries; shown once, never stored
    name: str
    expires_at: datetime
    rebinds: bool  # the person has a chat already: opening the link moves them to the new one


def code_hash(code: str) -> str:
    """What is stored for an invite: the SHA-256 of its code."""
    return hashlib.sha256(code.encode("ascii", "replace")).hexdigest()


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


async def issue(
    community: CommunityRepository,
    name: str,
    now: datetime,
    *,
    resident: bool = False,
    valid: timedelta = INVITE_VALID,
) -> Issued:
    """A new invite for the person called `name` (or, with `resident`, for a resident of that name).

    Raises NotInvitable when no active person has that name (people come from the community file).
    """
    name = name.strip()
    if not name or len(name) > 64:
        raise NotInvitable(name)
    code = secrets.token_urlsafe(16)  # 128 random bits, 22 characters Telegram accepts as a start parameter
    if resident:
        invite = Invite(code_hash(code), now, now + valid, resident_name=name)
        await community.add_invite(invite)
        return Issued(code, name, invite.expires_at, rebinds=False)
    invitee = await community.invitee(name)
    if invitee is None:
        raise NotInvitable(name)
    invite = Invite(code_hash(code), now, now + valid, person_id=invitee.person_id)
    await community.add_invite(invite)
    return Issued(code, invitee.name, invite.expires_at, rebinds=invitee.joined)


async def start(ctx: Context, args: str) -> None:
    """/start [code]: an invite's code binds this chat; without one, the usual welcome."""
    code = args.strip()
    if not code:
        await registration.start(ctx)
        return
    if ctx.incoming.chat_kind is ChatKind.GROUP:
        await ctx.answer(community_texts.INVITE_ONLY_PRIVATE)  # the link is for one person's own chat
        return
    invite = await ctx.uow.community.invite(code_hash(code)) if _CODE.match(code) else None
    now = ctx.clock.now()
    if invite is None or invite.expires_at <= now:
        await ctx.answer(community_texts.INVITE_INVALID)
        return
    if invite.used_at is not None:
        await ctx.answer(community_texts.INVITE_USED)
        return
    if invite.person_id is not None:
        await _join_as_person(ctx, invite, now)
    else:
        await _join_as_resident(ctx, invite, now)


async def _join_as_person(ctx: Context, invite: Invite, now: datetime) -> None:
    assert invite.person_id is not None
    holder = ctx.person
    if holder is not None and holder.id != invite.person_id:
        # One chat, one person: this account already acts for someone else in the structure.
        await ctx.answer(community_texts.invite_chat_taken(holder.title))
        return
    if not await ctx.uow.community.use_invite(invite.code_hash, now):
        await ctx.answer(community_texts.INVITE_USED)
        return
    await ctx.uow.community.bind_chat(invite.person_id, ctx.chat_id)
    person = await ctx.uow.community.person(invite.person_id)
    if person is None:  # left the structure since the link was made
        await ctx.answer(community_texts.INVITE_INVALID)
        return
    ctx.person = person
    await ctx.answer(community_texts.joined_person(person.title))
    await _tell_staff(ctx, community_texts.joined_person_staff(person.title), except_id=person.id)


async def _join_as_resident(ctx: Context, invite: Invite, now: datetime) -> None:
    name = invite.resident_name or ""
    if not await ctx.uow.community.use_invite(invite.code_hash, now):
        await ctx.answer(community_texts.INVITE_USED)
        return
    resident = ctx.resident or Resident(id=None, chat_id=ctx.chat_id, name=name)
    if ctx.resident is None:
        ctx.resident = await ctx.uow.residents.save(resident)
    # The chat id is what the ledger and a few staff commands ask for: staff get it here.
    await _tell_staff(ctx, community_texts.joined_resident_staff(name, ctx.chat_id))
    await registration.start(ctx)  # the welcome, and consent if not given yet


async def _tell_staff(ctx: Context, text: str, except_id: int | None = None) -> None:
    for staff in await ctx.uow.community.people(role=Role.STAFF):
        if staff.id != except_id:
            await ctx.say(staff.chat_id, text)


async def my_id(ctx: Context, _args: str) -> None:
    """/id: the sender's own chat id (and, in a group, the group's, which a grid's group_chat_id needs)."""
    if ctx.incoming.chat_kind is ChatKind.GROUP:
        await ctx.answer(community_texts.group_id(ctx.chat_id, ctx.incoming.sender_id))
        return
    await ctx.answer(community_texts.your_id(ctx.incoming.sender_id))
