"""The bot's own profile and settings, and what it may look up: getMe, commands per scope, files, chats."""

from __future__ import annotations

import re
from typing import Any

from tools.emulator.core import EmulatorCore
from tools.emulator.state import BotState, scope_key
from tools.emulator.wire import Params, bad_request

__all__ = ["BotMethods"]

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class BotMethods(EmulatorCore):
    """getMe, logOut, close, set/get/deleteMyCommands, getFile, getChat."""

    def _m_getMe(self, bot: BotState, p: Params) -> dict[str, Any]:
        return {
            **bot.user,
            "can_join_groups": True,
            "can_read_all_group_messages": not bot.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, bot: BotState, p: Params) -> bool:
        return True

    def _m_close(self, bot: BotState, p: Params) -> bool:
        return True

    # ----------------------------------------------------------------------------- commands

    def _m_setMyCommands(self, bot: BotState, p: Params) -> bool:
        commands = p.object("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 BotCommand")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = scope_key(p.object("scope"), p.string("language_code") or "")
        if commands:
            bot.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            bot.commands.pop(key, None)
        return True

    def _m_getMyCommands(self, bot: BotState, p: Params) -> list[dict[str, str]]:
        return bot.commands.get(scope_key(p.object("scope"), p.string("language_code") or ""), [])

    def _m_deleteMyCommands(self, bot: BotState, p: Params) -> bool:
        bot.commands.pop(scope_key(p.object("scope"), p.string("language_code") or ""), None)
        return True

    # ----------------------------------------------------------------------------- files and chats

    def _m_getFile(self, bot: BotState, p: Params) -> dict[str, Any]:
        stored = self.files.get(p.require_str("file_id"))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    def _m_getChat(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat = self._target_chat(bot, p)
        return {
            **chat.obj,
            # ChatFullInfo fields both frameworks require.
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }
