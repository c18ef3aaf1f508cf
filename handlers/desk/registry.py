"""What the desk feature answers in chat: /desk (a login link for the staff desk)."""

from __future__ import annotations

from handlers.desk import login
from handlers.features import Feature

FEATURE = Feature(name="desk", commands={"desk": login.desk_command})
