"""Command menus per role: residents see the default menu, members and staff get their own per chat."""

from __future__ import annotations

import logging

from bot.telegram.base import Transport
from handlers import texts
from handlers.community.model import Person

log = logging.getLogger(__name__)


def commands_for(person: Person) -> tuple[tuple[str, str], ...]:
    return texts.COMMANDS_STAFF if person.is_staff else texts.COMMANDS_MEMBER


async def install_menus(transport: Transport, people: list[Person]) -> int:
    """setMyCommands for the default scope and each person's chat; returns how many chats got a menu.

    A person who never opened the bot cannot get a per-chat menu yet (Telegram: chat not found); that is
    logged and skipped, the next start tries again.
    """
    await transport.set_commands(texts.COMMANDS_RESIDENT, None)
    done = 0
    for person in people:
        try:
            await transport.set_commands(commands_for(person), person.chat_id)
            done += 1
        except Exception as error:  # the framework's own error type; a menu is never worth failing for
            log.info("no command menu for person %s yet (%s)", person.id, type(error).__name__)
    return done
