"""What arrives from a chat, made storable before anything reads it: the core's one cleaning step.

Telegram passes on whatever people type, and the databases refuse some of it: PostgreSQL rejects a NUL
character in text, and a lone UTF-16 surrogate (JSON "\\ud800" without its partner) cannot even be
encoded as UTF-8. A display name may be 64 + 1 + 64 characters (first and last name); residents.name
holds 64, which is plenty to greet someone by, so the name is cut rather than the column widened.
"""

from __future__ import annotations

import re
from dataclasses import replace

from handlers.messages import Incoming

NAME_LIMIT = 64  # residents.name (storage/models/community.py)
_NUL = "\x00"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a Python str, a surrogate is always a lone one


def clean_text(value: str) -> str:
    """`value` without NUL characters, each lone surrogate replaced by U+FFFD (as a decoder would)."""
    if _NUL in value:
        value = value.replace(_NUL, "")
    return _LONE_SURROGATE.sub("\ufffd", value)


def clean_name(value: str) -> str:
    """A display name as it can be stored: cleaned, trimmed and at most NAME_LIMIT characters."""
    return clean_text(value).strip()[:NAME_LIMIT].strip()


def clean(incoming: Incoming) -> Incoming:
    """The update with its text, sender name and button data cleaned (the same object when already clean)."""
    text = clean_text(incoming.text) if incoming.text is not None else None
    data = clean_text(incoming.callback_data) if incoming.callback_data is not None else None
    name = clean_name(incoming.sender_name)
    if (text, data, name) == (incoming.text, incoming.callback_data, incoming.sender_name):
        return incoming
    return replace(incoming, text=text, callback_data=data, sender_name=name)
