"""Masking personal data where it may be seen by more people than it should (group chats, logs)."""

from __future__ import annotations

import re

# Mainland mobile numbers (11 digits starting 13-19), optionally written with spaces or dashes.
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
# Landlines with an area code, e.g. 0513-85551234.
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?\d{3,4}(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    """Replace the middle digits of phone numbers: 13912345678 -> 139****5678."""
    text = _MOBILE.sub(r"\1****\2", text)
    return _LANDLINE.sub(r"\1-****\2", text)
