"""Logging in by single-use link, server-side sessions, CSRF tokens and the login rate limit.

A session is a random token in an HttpOnly cookie; the database keeps only its hash, with the person's
grants (roles and visible grids) when it began. Every request re-reads the person: deactivated, or roles or
grids changed, and all their sessions end at once. Idle sessions end after `idle`, any after `max_age`.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from handlers.community.model import Person
from handlers.desk.login import may_use_desk, token_hash
from handlers.desk.queries import Scope, scope_for
from handlers.ports import Clock
from storage.uow import SqlUnitOfWorkFactory

COOKIE = "gridbot_desk"
IDLE = timedelta(minutes=30)
MAX_AGE = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=10)
LOGIN_ATTEMPTS = 10  # per source address and window: a link token cannot be guessed, but don't let anyone try
_TOUCH_EVERY = timedelta(seconds=30)  # fewer writes: last_seen moves at most this often


@dataclass(frozen=True)
class Viewer:
    """The logged-in person, what they may see, and their session's CSRF token."""

    person: Person
    scope: Scope
    csrf: str
    session_hash: str

    @property
    def is_staff(self) -> bool:
        return self.person.is_staff

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


def grants_of(person: Person, scope: Scope) -> str:
    grids = "*" if scope.everything else ",".join(str(g) for g in sorted(scope.grid_ids))
    return ",".join(sorted(r.value for r in person.roles)) + "|" + grids


class TooManyAttempts(Exception):
    """The source address tried to log in too often; wait for the window to pass."""


class Sessions:
    def __init__(
        self,
        uow_factory: SqlUnitOfWorkFactory,
        clock: Clock,
        idle: timedelta = IDLE,
        max_age: timedelta = MAX_AGE,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self.idle = idle
        self.max_age = max_age

    async def login(self, link_token: str, source: str) -> tuple[str, Person] | None:
        """Use a login link: a new session's token and its person, or None (unknown, used, expired)."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            if await uow.desk.login_attempts(source, now - LOGIN_WINDOW) >= LOGIN_ATTEMPTS:
                raise TooManyAttempts
            await uow.desk.add_login_attempt(source, now, forget_before=now - timedelta(days=1))
            person_id = await uow.desk.use_login_link(token_hash(link_token), now)
            person = await uow.community.person(person_id) if person_id is not None else None
            if person is None or not may_use_desk(person):
                await uow.commit()  # the attempt counts, and a used link stays used
                return None
            scope = await scope_for(person, uow.community)
            session_token = secrets.token_urlsafe(32)
            await uow.desk.add_session(
                token_hash(session_token),
                person.id,
                secrets.token_urlsafe(24),
                grants_of(person, scope),
                source,
                now,
            )
            await uow.desk.audit(person.id, "login", f"person:{person.id}", [], source, now)
            await uow.commit()
        return session_token, person

    async def viewer(self, session_token: str | None) -> Viewer | None:
        """The person behind a session cookie, or None (no session, ended, idle too long, grants changed)."""
        if not session_token:
            return None
        now = self._clock.now()
        hashed = token_hash(session_token)
        async with self._uow_factory() as uow:
            stored = await uow.desk.get_session(hashed)
            if stored is None or stored.revoked_at is not None:
                return None
            if now - stored.last_seen_at > self.idle or now - stored.created_at > self.max_age:
                await uow.desk.revoke_session(hashed, now)
                await uow.commit()
                return None
            person = await uow.community.person(stored.person_id)
            scope = await scope_for(person, uow.community) if person is not None else None
            if (
                person is None
                or scope is None
                or not may_use_desk(person)
                or grants_of(person, scope) != stored.grants
            ):
                await uow.desk.revoke_sessions_of(stored.person_id, now)  # every browser, at once
                await uow.commit()
                return None
            if now - stored.last_seen_at > _TOUCH_EVERY:
                await uow.desk.touch_session(hashed, now)
                await uow.commit()
        return Viewer(person, scope, stored.csrf, hashed)

    async def logout(self, viewer: Viewer, source: str) -> None:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            await uow.desk.revoke_session(viewer.session_hash, now)
            await uow.desk.audit(viewer.person.id, "logout", f"person:{viewer.person.id}", [], source, now)
            await uow.commit()
