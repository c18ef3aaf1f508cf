"""Masking personal data where it may be seen by more people than it should (group chats, logs).

`mask_phones` is the one masking function: group-chat cards call it, and so does the log redaction
(bot/telegram/redact.py). It recognises numbers the way residents and spreadsheets write them: with a
+86 / 0086 / 86 prefix, with spaces, dashes or dots between the groups, and in full-width digits
(１３８…, what a Chinese input method types). Order numbers (GD20261129-0012), dates, times and room
numbers are left alone: a match needs a mobile's 11 digits or an area code and a local number, with no
other digit next to it.
"""

from __future__ import annotations

import re

_DIGIT = "[0-9０-９]"
# At most one separator between the groups: space, ideographic space, ASCII/full-width dash or dot.
_SEP = "[ \u3000\\-－–.．]?"
_COUNTRY = "(?:[+＋]|00|００)?[8８][6６]"  # +86, 0086, or the bare 86 Telegram puts on shared contacts
_MOBILE = re.compile(
    rf"(?<![0-9０-９])"
    rf"(?:[(（]?{_COUNTRY}[)）]?{_SEP})?"
    rf"(?P<head>[1１][3-9３-９]{_DIGIT}){_SEP}{_DIGIT}{{4}}{_SEP}(?P<tail>{_DIGIT}{{4}})"
    rf"(?![0-9０-９])"
)
# Landlines with an area code: 0513-85551234, (0513) 8555 1234, +86 513 85551234.
_LANDLINE = re.compile(
    rf"(?<![0-9０-９])"
    rf"(?:(?:[+＋]|00|００)[8８][6６]{_SEP}[(（]?(?P<abroad>[1-9１-９]{_DIGIT}{{1,2}})[)）]?"
    rf"|[(（]?(?P<area>[0０]{_DIGIT}{{2,3}})[)）]?)"
    rf"{_SEP}{_DIGIT}{{3,4}}{_SEP}(?P<tail>{_DIGIT}{{4}})"
    rf"(?![0-9０-９])"
)
_ASCII_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _ascii(digits: str) -> str:
    return digits.translate(_ASCII_DIGITS)


def _mask_mobile(match: re.Match[str]) -> str:
    return f"{_ascii(match['head'])}****{_ascii(match['tail'])}"


def _mask_landline(match: re.Match[str]) -> str:
    area = _ascii(match["area"]) if match["area"] else "0" + _ascii(match["abroad"])
    return f"{area}-****{_ascii(match['tail'])}"


def mask_phones(text: str) -> str:
    """Replace the middle digits of phone numbers, whatever their prefix, separators or digit width.

    13912345678, +86 139-1234-5678 and １３９１２３４５６７８ all become 139****5678;
    0513-85551234 becomes 0513-****1234.
    """
    text = _MOBILE.sub(_mask_mobile, text)
    return _LANDLINE.sub(_mask_landline, text)
